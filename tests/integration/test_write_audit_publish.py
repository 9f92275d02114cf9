"""Write-Audit-Publish: a run builds its window in shadow tables, audits them, and publishes only
when every `error` check passed, in one transaction that also records the song files in the ledger."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from sparkify.operators.data_quality import DataQualityError
from sparkify.staging import run_scoped
from tests.expected import event_time, expected_star, read_events
from tests.support import checksums, rerun_task, reset_schema, run_dag

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("keep_run_tables")]  # reads run tables after the run


BUCKET = "udacity-dend"
DAY_FILE = "log_data/2018/11/2018-11-15-events.json"
STAR = ("songplays", "users", "songs", "artists", "time")
PUBLISHED = (*STAR, "song_file_ledger")


def busy_hours(root, count: int) -> list[datetime]:
    """The `count` hours of 2018-11-15 with the most NextSong plays (naive UTC), in time order."""
    plays = [
        event_time(e).replace(minute=0, second=0, microsecond=0)
        for e in read_events(root)
        if e["page"] == "NextSong" and e.get("userId") and event_time(e).date().isoformat() == "2018-11-15"
    ]
    return sorted(sorted(set(plays), key=lambda h: (-plays.count(h), h))[:count])


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc)


def latest_run_id(db) -> str:
    """The id of the run whose tables were registered last."""
    return db.execute("SELECT run_id FROM staging_tables ORDER BY created_at DESC LIMIT 1").fetchone()[0]


def window(hour: datetime) -> dict:
    return {"window_start": utc(hour).isoformat(), "window_end": utc(hour + timedelta(hours=1)).isoformat()}


@pytest.fixture
def bad_level_in(sample_data, s3):
    """Returns a function that rewrites the day file so that one NextSong play of `hour` has level 'gold'
    (a value the checks refuse); the original file is restored after the test."""
    path = sample_data / DAY_FILE
    original = path.read_bytes()

    def corrupt(hour: datetime) -> dict:
        """The hour's last play with a user gets level 'gold': it is also that user's latest, so users gets it too."""
        lines = original.decode("utf-8").splitlines()
        plays = [
            (event["ts"], event.get("itemInSession", 0), i)
            for i, event in ((i, json.loads(line)) for i, line in enumerate(lines) if line.strip())
            if event.get("page") == "NextSong"
            and event.get("userId")
            and hour <= event_time(event) < hour + timedelta(hours=1)
        ]
        assert plays, f"no NextSong play with a user in {hour}"
        i = max(plays)[2]
        event = {**json.loads(lines[i]), "level": "gold"}
        lines[i] = json.dumps(event)
        s3.put_object(Bucket=BUCKET, Key=DAY_FILE, Body=("\n".join(lines) + "\n").encode())
        return event

    yield corrupt
    s3.put_object(Bucket=BUCKET, Key=DAY_FILE, Body=original)


def test_a_failed_audit_leaves_the_published_tables_untouched_and_keeps_the_shadows(
    sparkify_dag, sample_data, db, bad_level_in
):
    reset_schema(db)
    first, second = busy_hours(sample_data, 2)
    assert run_dag(sparkify_dag, utc(first)) == "success"
    before = checksums(db, PUBLISHED)
    assert before["songplays"][0] > 0 and before["song_file_ledger"][0] > 0

    bad = bad_level_in(second)
    assert run_dag(sparkify_dag, utc(second)) == "failed"
    assert checksums(db, PUBLISHED) == before, "a failed audit changed a published table"

    # dq_results records the failures, for this run and window
    run_id = latest_run_id(db)
    failed = db.execute(
        "SELECT check_name, observed, severity FROM dq_results WHERE run_id = %s AND NOT passed ORDER BY check_name",
        (run_id,),
    ).fetchall()
    assert ("songplays_level_accepted", "1", "error") in failed
    assert ("users_level_accepted", "1", "error") in failed
    # the shadows are kept (registered for retention) with the rows that failed, for inspection
    registered = {
        name for (name,) in db.execute("SELECT table_name FROM staging_tables WHERE run_id = %s", (run_id,)).fetchall()
    }
    assert {run_scoped(t, run_id) for t in STAR} <= registered
    gold = db.execute(f'SELECT COUNT(*) FROM "{run_scoped("songplays", run_id)}" WHERE level = %s', ("gold",))
    assert gold.fetchone()[0] == 1
    # the error names each failed check, as a retry of the audit shows
    with pytest.raises(DataQualityError) as error:
        rerun_task(sparkify_dag, "run_quality_checks", run_id, window(second))
    assert "- songplays_level_accepted (songplays): observed 1" in str(error.value)
    assert "- users_level_accepted (users): observed 1" in str(error.value)
    assert checksums(db, PUBLISHED) == before
    assert bad["userId"]


def test_after_the_data_is_fixed_the_rerun_publishes_exactly_the_model(sparkify_dag, sample_data, db, bad_level_in, s3):
    reset_schema(db)
    hour = busy_hours(sample_data, 1)[0]
    bad_level_in(hour)
    assert run_dag(sparkify_dag, utc(hour)) == "failed"
    assert all(count == 0 for count, _ in checksums(db, PUBLISHED).values())
    s3.put_object(Bucket=BUCKET, Key=DAY_FILE, Body=(sample_data / DAY_FILE).read_bytes())
    assert run_dag(sparkify_dag, utc(hour)) == "success"
    expected = expected_star(sample_data, [(hour, hour + timedelta(hours=1))])
    assert set(db.execute("SELECT * FROM songplays").fetchall()) == expected.songplays
    assert set(db.execute("SELECT * FROM users").fetchall()) == expected.users


def test_songs_still_match_after_the_artists_load_failed_for_good(sparkify_dag, sample_data, db, monkeypatch):
    """Issue 13: the ledger records a song file only when its songs and artists are published with it.

    The artists shadow build fails for good in one hour; the next hour must stage the same song files
    again, publish songs and artists together, and match its plays to songs as the model does."""
    reset_schema(db)
    following = busy_hours(sample_data, 1)[0]
    hour = following - timedelta(hours=1)
    artists_load = sparkify_dag.get_task("load_artists_dim")
    monkeypatch.setattr(artists_load, "sql", "SELECT CAST('the artists load fails for good' AS INTEGER)")
    assert run_dag(sparkify_dag, utc(hour)) == "failed"
    for table in ("songs", "artists", "song_file_ledger", "songplays"):
        assert db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == 0, table
    monkeypatch.undo()

    assert run_dag(sparkify_dag, utc(following)) == "success"
    expected = expected_star(sample_data, [(following, following + timedelta(hours=1))])
    assert any(row[4] for row in expected.songplays), "the hour should contain plays that match a song"
    assert set(db.execute("SELECT * FROM songplays").fetchall()) == expected.songplays
    assert set(db.execute("SELECT * FROM songs").fetchall()) == expected.songs
    assert set(db.execute("SELECT * FROM artists").fetchall()) == expected.artists
    assert (
        db.execute(
            "SELECT COUNT(*) FROM songs s WHERE NOT EXISTS (SELECT 1 FROM artists a WHERE a.artist_id = s.artist_id)"
        ).fetchone()[0]
        == 0
    )
