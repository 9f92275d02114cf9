"""The song catalogue loads incrementally: hourly runs stage only new or changed song files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from sparkify.staging import run_scoped
from tests.expected import read_songs
from tests.support import reset_schema, run_dag

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("keep_run_tables")]  # reads run tables after the run


HOUR = datetime(2018, 11, 15, 9, tzinfo=timezone.utc)
BUCKET = "udacity-dend"


def staged_song_ids(db) -> list[str]:
    run_id = db.execute("SELECT run_id FROM staging_tables ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    table = run_scoped("staging_songs", run_id)
    return sorted(r[0] for r in db.execute(f'SELECT song_id FROM "{table}"').fetchall())


@pytest.fixture
def catalogue(sparkify_dag, sample_data, s3, db):
    """A first run loads the whole catalogue; the bucket is restored after the test."""
    reset_schema(db)
    assert run_dag(sparkify_dag, HOUR) == "success"
    song_files = sorted(p for p in (sample_data / "song_data").rglob("*.json"))
    yield song_files
    for path in song_files:
        s3.put_object(Bucket=BUCKET, Key=path.relative_to(sample_data).as_posix(), Body=path.read_bytes())
    s3.delete_object(Bucket=BUCKET, Key="song_data/Z/Z/Z/TRZZZZZ000NEWSONG.json")


def test_the_first_run_stages_every_file_and_records_it(catalogue, sample_data, db):
    assert db.execute("SELECT COUNT(*) FROM song_file_ledger").fetchone()[0] == len(catalogue)
    assert len(staged_song_ids(db)) == len(read_songs(sample_data))


def test_the_next_run_stages_no_unchanged_file(catalogue, sparkify_dag, db):
    assert run_dag(sparkify_dag, HOUR + timedelta(hours=1)) == "success"
    assert staged_song_ids(db) == []
    assert db.execute("SELECT COUNT(*) FROM songs").fetchone()[0] > 0


def test_new_and_changed_files_are_staged_and_merged(catalogue, sparkify_dag, sample_data, s3, db):
    changed_path = catalogue[0]
    text = changed_path.read_text(encoding="utf-8")
    song = json.JSONDecoder().raw_decode(text.lstrip())[0]
    s3.put_object(
        Bucket=BUCKET,
        Key=changed_path.relative_to(sample_data).as_posix(),
        Body=json.dumps({**song, "title": "A Changed Title"}).encode(),
    )
    new_song = {**song, "song_id": "SONEWSONG0000000001", "title": "A Brand New Song"}
    s3.put_object(Bucket=BUCKET, Key="song_data/Z/Z/Z/TRZZZZZ000NEWSONG.json", Body=json.dumps(new_song).encode())

    assert run_dag(sparkify_dag, HOUR + timedelta(hours=2)) == "success"
    assert staged_song_ids(db) == sorted([song["song_id"], "SONEWSONG0000000001"])
    titles = dict(
        db.execute(
            "SELECT song_id, title FROM songs WHERE song_id IN (%s, %s)", (song["song_id"], "SONEWSONG0000000001")
        ).fetchall()
    )
    assert titles == {song["song_id"]: "A Changed Title", "SONEWSONG0000000001": "A Brand New Song"}
    assert db.execute("SELECT COUNT(*) FROM song_file_ledger").fetchone()[0] == len(catalogue) + 1


def test_full_refresh_stages_every_file(catalogue, sparkify_dag, sample_data, db):
    assert run_dag(sparkify_dag, HOUR + timedelta(hours=3), {"full_refresh": True}) == "success"
    assert len(staged_song_ids(db)) == len(read_songs(sample_data))


def test_full_refresh_must_be_a_boolean(sparkify_dag):
    param = sparkify_dag.params.get_param("full_refresh")
    assert param.resolve(True) is True
    assert param.resolve(None) is None  # optional: the form shows no required mark; the stage reads it as false
    with pytest.raises(Exception, match="is not of type 'null', 'boolean'"):
        param.resolve("yes please")
