"""MAXERROR and stl_load_errors on the local stack: rejects are recorded by the emulator and named in the task log."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from sparkify.operators import StageToRedshiftOperator
from sparkify.s3copy.redshift_copy import CopyFailed
from tests.support import clear_prefix, logged_reject, put_objects, reset_schema, task_context

pytestmark = pytest.mark.integration
BUCKET = "sparkify-reject-tests"
PREFIX = "rejects/"
KEY = f"s3://{BUCKET}/{PREFIX}a.json"
CONTEXT = {**task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"), "run_id": "manual__reject-test"}
LOAD_FAILED = "Load into table 'staging_songs' failed.  Check 'stl_load_errors' system table for details."


def songs_file(years: list) -> str:
    return "\n".join(json.dumps({"song_id": f"SO{i}", "title": f"t{i}", "year": y}) for i, y in enumerate(years))


def stage(max_error: int) -> int:
    return StageToRedshiftOperator(
        task_id="stage_songs",
        table="staging_songs",
        s3_bucket=BUCKET,
        s3_key=PREFIX,
        copy_options={"max_error": max_error},
    ).execute(CONTEXT)


@pytest.fixture
def warehouse(db, s3):
    reset_schema(db)
    db.execute("INSERT INTO staging_songs (song_id, title) VALUES ('SOKEPT', 'earlier load')")
    clear_prefix(s3, BUCKET, PREFIX)
    return db


def recorded(load_errors) -> list[tuple]:
    """(table, file, line, column, type, raw value, reason) of each reject, checking that one COPY made them all."""
    rows = load_errors()
    assert len({row.query for row in rows}) <= 1, rows
    return [(r.table, r.filename, r.line, r.column, r.column_type, r.raw_value, r.reason) for r in rows]


def test_maxerror_loads_the_good_rows_and_records_the_rejects(warehouse, s3, load_errors, capfd):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": songs_file([1999, "bad", 2001, "worse", 2003])})
    assert stage(max_error=2) == 3
    assert warehouse.execute("SELECT song_id FROM staging_songs ORDER BY song_id").fetchall() == [
        ("SO0",),
        ("SO2",),
        ("SO4",),
    ]
    bad, worse = "Invalid digit, Value 'b', Type: integer", "Invalid digit, Value 'w', Type: integer"
    assert recorded(load_errors) == [
        ("staging_songs", KEY, 2, "year", "integer", "bad", bad),
        ("staging_songs", KEY, 4, "year", "integer", "worse", worse),
    ]
    assert [r.err_code for r in load_errors()] == [1207, 1207]  # Redshift's "invalid digit"
    log = capfd.readouterr().out
    assert "2 rejected row(s) were skipped (MAXERROR 2)" in log
    assert logged_reject(log, KEY, 2, "year", bad) and logged_reject(log, KEY, 4, "year", worse), log


def test_more_rejects_than_maxerror_load_nothing_but_are_recorded(warehouse, s3, load_errors, capfd):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": songs_file([1999, "bad", "worse", 2003, "worst"])})
    with pytest.raises(AirflowFailException, match=f"{LOAD_FAILED}.*{KEY} line 2, position 1, column year"):
        stage(max_error=2)
    assert warehouse.execute("SELECT song_id FROM staging_songs").fetchall() == [("SOKEPT",)]
    assert [(row[2], row[5]) for row in recorded(load_errors)] == [(2, "bad"), (3, "worse"), (5, "worst")]
    log = capfd.readouterr().out
    assert "3 rejected row(s) failed the load" in log
    assert logged_reject(log, KEY, 5, "year", "Invalid digit, Value 'w', Type: integer"), log


def test_without_maxerror_the_first_reject_fails_the_load_and_is_recorded(warehouse, s3, load_errors, capfd):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": songs_file([1999, 2000, "bad"])})
    with pytest.raises(
        AirflowFailException, match=r"a.json line 3, position 1, column year \(integer\), raw value 'bad'"
    ):
        stage(max_error=0)
    assert warehouse.execute("SELECT song_id FROM staging_songs").fetchall() == [("SOKEPT",)]
    assert [row[2:4] for row in recorded(load_errors)] == [(3, "year")]
    log = capfd.readouterr().out
    assert "1 rejected row(s) failed the load" in log
    assert logged_reject(log, KEY, 3, "year", "Invalid digit, Value 'b', Type: integer"), log


def test_malformed_json_is_recorded_and_changes_nothing(warehouse, s3, load_errors, capfd):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": '{"song_id": "SO1"}\n{"song_id": "SO2",, }\n'})
    with pytest.raises(AirflowFailException, match=f"{LOAD_FAILED}.*{KEY} line 2"):
        stage(max_error=5)  # MAXERROR does not skip a file that cannot be parsed
    assert warehouse.execute("SELECT song_id FROM staging_songs").fetchall() == [("SOKEPT",)]
    [(table, key, line, column, _, raw, reason)] = recorded(load_errors)
    assert (table, key, line, column, raw) == ("staging_songs", KEY, 2, "", '{"song_id": "SO2",, }')
    assert reason.startswith("Invalid JSON")
    assert logged_reject(capfd.readouterr().out, KEY, 2, "", reason)


def test_maxerror_is_validated_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="max_error"):
        StageToRedshiftOperator(task_id="s", table="t", s3_bucket="b", s3_key="k", copy_options={"max_error": -1})


def test_copy_errors_are_not_rows_and_are_not_recorded(warehouse, s3, load_errors, capfd):
    with pytest.raises(CopyFailed, match=f"No objects match the prefix s3://{BUCKET}/{PREFIX}") as raised:
        stage(max_error=0)
    assert not raised.value.data_error  # not a data error: the task's retries apply
    assert recorded(load_errors) == []
    assert "rejected row" not in capfd.readouterr().out
    assert warehouse.execute("SELECT song_id FROM staging_songs").fetchall() == [("SOKEPT",)]


HOSTILE_SONGS = (
    '{"song_id": "SO0", "title": "fine", "year": 1999}\n'
    '{"song_id": "SO1", "title": "deep", "year": ' + "[" * 3000 + "]" * 3000 + "}\n"
    '{"song_id": "SO2", "title": "digits", "year": ' + "9" * 5000 + "}\n"
    '{"song_id": "SO3", "title": "x\\ud800y", "year": 2001}\n'
    '{"song_id": "SO4", "title": "fine too", "year": 2003}\n'
)


def test_hostile_values_are_recorded_rejects_and_count_toward_maxerror(warehouse, s3, load_errors, capfd):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": HOSTILE_SONGS})
    assert stage(max_error=3) == 2
    assert warehouse.execute("SELECT song_id FROM staging_songs ORDER BY song_id").fetchall() == [("SO0",), ("SO4",)]
    assert [
        (line, column, reason.split(":")[0][:40]) for _, _, line, column, _, _, reason in recorded(load_errors)
    ] == [
        (2, "", "JSON value nested 3001 levels deep, more"),
        (3, "year", "Overflow, Type"),
        (4, "title", "String contains invalid or unsupported U"),
    ]
    log = capfd.readouterr().out
    assert "3 rejected row(s) were skipped (MAXERROR 3)" in log


def test_hostile_values_beyond_maxerror_leave_staging_unchanged(warehouse, s3, load_errors):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": HOSTILE_SONGS})
    with pytest.raises(AirflowFailException, match=LOAD_FAILED):
        stage(max_error=2)
    assert warehouse.execute("SELECT song_id, title FROM staging_songs").fetchall() == [("SOKEPT", "earlier load")]
    rows = recorded(load_errors)
    assert [row[2] for row in rows] == [2, 3, 4]
    assert rows[2][5] == "x\\ud800y"  # the raw value, escaped so that PostgreSQL can hold it
