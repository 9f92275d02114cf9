"""MANIFEST, ACCEPTINVCHARS, compression and the remaining bad inputs, on the local stack (through the emulator)."""

from __future__ import annotations

import bz2
import json

import pytest
import zstandard
from airflow.sdk.exceptions import AirflowFailException

from local_stack.redshift.s3copy.errors import CopyError
from local_stack.redshift.s3copy.s3_objects import list_objects, open_objects
from sparkify.operators import StageToRedshiftOperator
from sparkify.s3copy.redshift_copy import CopyFailed
from tests.support import StatementLog, clear_prefix, put_objects, reset_schema, task_context, the_only_reject

pytestmark = pytest.mark.integration
BUCKET = "sparkify-option-tests"
OTHER_BUCKET = "sparkify-option-tests-other"
CONTEXT = {**task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"), "run_id": "manual__options"}


def song(song_id: str, **fields) -> dict:
    return {"song_id": song_id, "title": f"title {song_id}", **fields}


def ndjson(*records: dict) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def stage(key: str, **copy_options) -> int:
    return StageToRedshiftOperator(
        task_id="stage_songs", table="staging_songs", s3_bucket=BUCKET, s3_key=key, copy_options=copy_options
    ).execute(CONTEXT)


def stage_manifest(key: str) -> int:
    return StageToRedshiftOperator(
        task_id="stage_songs", table="staging_songs", manifest=f"s3://{BUCKET}/{key}"
    ).execute(CONTEXT)


def song_ids(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT song_id FROM staging_songs ORDER BY song_id").fetchall()]


@pytest.fixture
def db_schema(db, s3):
    reset_schema(db)
    db.execute("INSERT INTO staging_songs (song_id) VALUES ('SOKEPT')")
    for bucket in (BUCKET, OTHER_BUCKET):
        clear_prefix(s3, bucket, "")
    return db


def manifest(*entries: tuple[str, bool]) -> str:
    return json.dumps({"entries": [{"url": url, "mandatory": mandatory} for url, mandatory in entries]})


def test_manifest_loads_exactly_the_listed_objects_from_any_bucket(db_schema, s3):
    put_objects(
        s3,
        BUCKET,
        {
            "data/a.json": ndjson(song("SOA")),
            "data/b.json": ndjson(song("SOB")),
            "data/unlisted.json": ndjson(song("SOX")),
        },
    )
    put_objects(s3, OTHER_BUCKET, {"c.json": ndjson(song("SOC"))})
    put_objects(
        s3,
        BUCKET,
        {
            "load.manifest": manifest(
                (f"s3://{BUCKET}/data/a.json", True),
                (f"s3://{BUCKET}/data/b.json", False),
                (f"s3://{OTHER_BUCKET}/c.json", True),
                (f"s3://{BUCKET}/data/missing.json", False),
            )
        },
    )
    assert stage_manifest("load.manifest") == 3
    assert song_ids(db_schema) == ["SOA", "SOB", "SOC"]


def test_manifest_with_a_missing_mandatory_entry_fails_and_changes_nothing(db_schema, s3, load_errors):
    put_objects(
        s3,
        BUCKET,
        {
            "data/a.json": ndjson(song("SOA")),
            "load.manifest": manifest((f"s3://{BUCKET}/data/a.json", True), (f"s3://{BUCKET}/data/missing.json", True)),
        },
    )
    with pytest.raises(CopyFailed, match=f"lists s3://{BUCKET}/data/missing.json as mandatory") as raised:
        stage_manifest("load.manifest")
    assert not raised.value.data_error and load_errors() == []  # no row was rejected
    assert song_ids(db_schema) == ["SOKEPT"]


@pytest.mark.parametrize("document", ["not json", json.dumps({"entries": [{"url": "x"}]})])
def test_malformed_manifest_is_a_clear_error(db_schema, s3, document, load_errors):
    put_objects(s3, BUCKET, {"load.manifest": document})
    with pytest.raises(CopyFailed, match=f"The manifest s3://{BUCKET}/load.manifest is not valid") as raised:
        stage_manifest("load.manifest")
    assert not raised.value.data_error and load_errors() == []  # no row was rejected
    assert song_ids(db_schema) == ["SOKEPT"]


def test_a_manifest_with_no_entries_stages_nothing_without_a_copy(db_schema, s3, stack):
    """Redshift refuses a COPY of a manifest with no entries; for the task it means "nothing new"."""
    put_objects(s3, BUCKET, {"load.manifest": json.dumps({"entries": []})})
    log = StatementLog(stack)
    assert stage_manifest("load.manifest") == 0
    assert log.copies() == []
    assert song_ids(db_schema) == []  # REPLACE: the table is emptied


def test_acceptinvchars_replaces_invalid_utf8_and_without_it_the_load_fails(db_schema, s3, load_errors, capfd):
    put_objects(s3, BUCKET, {"inv/a.json": b'{"song_id": "SOA", "title": "caf\xe9 \xff!"}\n'})
    with pytest.raises(AirflowFailException, match=r"inv/a.json line 1, position 33.*Bad UTF-8 hex sequence: e9"):
        stage("inv/")
    reject = the_only_reject(
        load_errors(), capfd.readouterr().out, filename=f"s3://{BUCKET}/inv/a.json", line=1, position=33, column=""
    )
    assert "Bad UTF-8 hex sequence: e9" in reject.reason
    assert song_ids(db_schema) == ["SOKEPT"]
    assert stage("inv/", accept_inv_chars="^") == 1
    assert db_schema.execute("SELECT title FROM staging_songs").fetchone() == ("caf^ ^!",)


def test_invalid_utf8_in_a_json_key_names_the_line(db_schema, s3, load_errors, capfd):
    put_objects(s3, BUCKET, {"key/a.json": ndjson(song("SOA")) + b'{"ti\xc3tle": "x"}\n'})
    with pytest.raises(
        AirflowFailException, match=r"key/a.json line 2, position 5, raw value .*: String contains invalid UTF-8"
    ):
        stage("key/")
    reject = the_only_reject(
        load_errors(), capfd.readouterr().out, filename=f"s3://{BUCKET}/key/a.json", line=2, position=5, column=""
    )
    assert reject.reason.startswith("String contains invalid UTF-8")
    assert song_ids(db_schema) == ["SOKEPT"]


@pytest.mark.parametrize(("compression", "compress"), [("bzip2", bz2.compress), ("zstd", zstandard.compress)])
def test_bzip2_and_zstd_objects_load(db_schema, s3, compression, compress):
    put_objects(s3, BUCKET, {f"{compression}/a.json": compress(ndjson(song("SOA"), song("SOB")))})
    assert stage(f"{compression}/", compression=compression) == 2
    assert song_ids(db_schema) == ["SOA", "SOB"]


def test_an_empty_object_loads_no_rows_and_the_others_still_load(db_schema, s3):
    put_objects(s3, BUCKET, {"empty/a.json": b"", "empty/b.json": ndjson(song("SOB"))})
    assert stage("empty/") == 1
    assert song_ids(db_schema) == ["SOB"]


def test_top_level_array_is_refused_naming_the_key(db_schema, s3, load_errors, capfd):
    put_objects(s3, BUCKET, {"array/a.json": json.dumps([song("SOA"), song("SOB")])})
    with pytest.raises(
        AirflowFailException, match=r"array/a.json line 1, position 1.*Top-level JSON value is an array"
    ):
        stage("array/")
    reject = the_only_reject(
        load_errors(), capfd.readouterr().out, filename=f"s3://{BUCKET}/array/a.json", line=1, position=1, column=""
    )
    assert reject.reason.startswith("Top-level JSON value is an array")
    assert song_ids(db_schema) == ["SOKEPT"]


def test_unreadable_jsonpaths_file_is_a_clear_error(db_schema, s3, load_errors):
    put_objects(s3, BUCKET, {"jp/a.json": ndjson(song("SOA")), "paths/bad.json": "{not json"})
    with pytest.raises(CopyFailed, match=f"The jsonpaths file s3://{BUCKET}/paths/bad.json is not valid") as raised:
        StageToRedshiftOperator(
            task_id="s",
            table="staging_songs",
            s3_bucket=BUCKET,
            s3_key="jp/",
            copy_options={"json_format": f"s3://{BUCKET}/paths/bad.json"},
        ).execute(CONTEXT)
    assert not raised.value.data_error and load_errors() == []  # no row was rejected
    assert song_ids(db_schema) == ["SOKEPT"]


def test_an_object_that_changes_while_it_is_read_is_detected(db_schema, s3):
    """The emulator's reader, called directly: a listed object rewritten before it is read is refused."""
    put_objects(s3, BUCKET, {"moving/a.json": ndjson(song("SOA"))})
    objects = list_objects(s3, BUCKET, ["moving/"])
    put_objects(s3, BUCKET, {"moving/a.json": ndjson(song("SOA"), song("SOB"))})  # rewritten after listing
    with pytest.raises(CopyError, match=f"s3://{BUCKET}/moving/a.json changed while it was read"):
        list(open_objects(s3, objects, None))
