"""MAXERROR and the load_errors table on the local stack."""

from __future__ import annotations

import json

import pytest

from sparkify.operators import StageToRedshiftOperator
from local_stack.redshift.s3copy.errors import CopyError, LoadError, TooManyRejects
from tests.support import clear_prefix, put_objects, reset_schema, task_context

pytestmark = pytest.mark.integration
BUCKET = "sparkify-reject-tests"
PREFIX = "rejects/"
CONTEXT = {**task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"), "run_id": "manual__reject-test"}


def songs_file(years: list) -> str:
    return "\n".join(json.dumps({"song_id": f"SO{i}", "title": f"t{i}", "year": y}) for i, y in enumerate(years))


def stage(max_error: int) -> int:
    return StageToRedshiftOperator(
        task_id="stage_songs", table="staging_songs", s3_bucket=BUCKET, s3_key=PREFIX,
        json_format="auto", max_error=max_error,
    ).execute(CONTEXT)


@pytest.fixture
def warehouse(db, s3):
    reset_schema(db)
    db.execute("INSERT INTO staging_songs (song_id, title) VALUES ('SOKEPT', 'earlier load')")
    clear_prefix(s3, BUCKET, PREFIX)
    return db


def recorded(db) -> list[tuple]:
    return db.execute(
        "SELECT run_id, table_name, s3_key, line_number, column_name, raw_value, reason "
        "FROM load_errors ORDER BY line_number"
    ).fetchall()


def test_maxerror_loads_the_good_rows_and_records_the_rejects(warehouse, s3):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": songs_file([1999, "bad", 2001, "worse", 2003])})
    assert stage(max_error=2) == 3
    assert warehouse.execute("SELECT song_id FROM staging_songs ORDER BY song_id").fetchall() == [
        ("SO0",), ("SO2",), ("SO4",)]
    key = f"s3://{BUCKET}/{PREFIX}a.json"
    reason = "Invalid digit, Value 'b', Type: integer"
    assert recorded(warehouse) == [
        ("manual__reject-test", "staging_songs", key, 2, "year", "bad", reason),
        ("manual__reject-test", "staging_songs", key, 4, "year", "worse", "Invalid digit, Value 'w', Type: integer"),
    ]


def test_more_rejects_than_maxerror_load_nothing_but_are_recorded(warehouse, s3):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": songs_file([1999, "bad", "worse", 2003, "worst"])})
    with pytest.raises(TooManyRejects, match="3 rows rejected, more than MAXERROR 2"):
        stage(max_error=2)
    assert warehouse.execute("SELECT song_id FROM staging_songs").fetchall() == [("SOKEPT",)]
    assert [row[3] for row in recorded(warehouse)] == [2, 3, 5]


def test_without_maxerror_the_first_reject_fails_the_load_and_is_recorded(warehouse, s3):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": songs_file([1999, 2000, "bad"])})
    with pytest.raises(LoadError, match=r"a.json line 3, position 1, column year \(integer\), raw value 'bad'"):
        stage(max_error=0)
    assert warehouse.execute("SELECT song_id FROM staging_songs").fetchall() == [("SOKEPT",)]
    assert [row[3:5] for row in recorded(warehouse)] == [(3, "year")]


def test_malformed_json_is_recorded_and_changes_nothing(warehouse, s3):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": '{"song_id": "SO1"}\n{"song_id": "SO2",, }\n'})
    with pytest.raises(LoadError, match="line 2"):
        stage(max_error=5)
    assert warehouse.execute("SELECT song_id FROM staging_songs").fetchall() == [("SOKEPT",)]
    [(_, _, _, line, column, raw, reason)] = recorded(warehouse)
    assert (line, column, raw) == (2, None, '{"song_id": "SO2",, }')
    assert reason.startswith("Invalid JSON")


def test_maxerror_is_validated_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="max_error"):
        StageToRedshiftOperator(task_id="s", table="t", s3_bucket="b", s3_key="k", max_error=-1)


def test_copy_errors_are_not_rows_and_are_not_recorded(warehouse, s3):
    with pytest.raises(CopyError, match="No objects match"):
        stage(max_error=0)
    assert recorded(warehouse) == []


HOSTILE_SONGS = (
    '{"song_id": "SO0", "title": "fine", "year": 1999}\n'
    '{"song_id": "SO1", "title": "deep", "year": ' + "[" * 3000 + "]" * 3000 + "}\n"
    '{"song_id": "SO2", "title": "digits", "year": ' + "9" * 5000 + "}\n"
    '{"song_id": "SO3", "title": "x\\ud800y", "year": 2001}\n'
    '{"song_id": "SO4", "title": "fine too", "year": 2003}\n'
)


def test_hostile_values_are_recorded_rejects_and_count_toward_maxerror(warehouse, s3):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": HOSTILE_SONGS})
    assert stage(max_error=3) == 2
    assert warehouse.execute("SELECT song_id FROM staging_songs ORDER BY song_id").fetchall() == [
        ("SO0",), ("SO4",)]
    assert [(line, column, reason.split(":")[0][:40]) for _, _, _, line, column, _, reason in recorded(warehouse)] == [
        (2, None, "JSON value nested 3001 levels deep, more"),
        (3, "year", "Overflow, Type"),
        (4, "title", "String contains invalid or unsupported U"),
    ]


def test_hostile_values_beyond_maxerror_leave_staging_unchanged(warehouse, s3):
    put_objects(s3, BUCKET, {f"{PREFIX}a.json": HOSTILE_SONGS})
    with pytest.raises(TooManyRejects, match="3 rows rejected, more than MAXERROR 2"):
        stage(max_error=2)
    assert warehouse.execute("SELECT song_id, title FROM staging_songs").fetchall() == [("SOKEPT", "earlier load")]
    assert [row[3] for row in recorded(warehouse)] == [2, 3, 4]
    assert recorded(warehouse)[2][5] == "x\\ud800y"  # the raw value, escaped so that PostgreSQL can hold it
