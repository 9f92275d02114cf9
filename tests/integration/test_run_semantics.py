"""Exactly-once results: reruns, cleared tasks, retries after a partial failure, and any run order
give a byte-for-byte identical warehouse, checked by per-table checksums."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import WAREHOUSE_WRITERS, busiest_free_block, checksums, rerun_task, reset_schema, run_dag

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("keep_run_tables")]  # reads run tables after the run


DAY = datetime(2018, 11, 15, tzinfo=timezone.utc)
BUSY_HOURS = 6  # in `make test`: the shuffled-order proof over the sample's busiest hours (the whole day: stress)


def day_window() -> dict:
    return {"window_start": DAY.isoformat(), "window_end": (DAY + timedelta(days=1)).isoformat()}


def latest_run_id(db) -> str:
    return db.execute("SELECT run_id FROM staging_tables ORDER BY created_at DESC LIMIT 1").fetchone()[0]


@pytest.fixture(scope="module")
def reference(sparkify_dag, sample_data, warehouse_dsn):
    """Checksums of the warehouse after one windowed run over the whole day."""
    import psycopg

    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        reset_schema(conn)
        assert run_dag(sparkify_dag, DAY, day_window()) == "success"
        sums = checksums(conn)
    assert sums["songplays"][0] > 0 and sums["users"][0] > 0
    return sums


def test_rerunning_a_whole_run_changes_nothing(reference, sparkify_dag, db):
    reset_schema(db)
    assert run_dag(sparkify_dag, DAY, day_window()) == "success"
    assert run_dag(sparkify_dag, DAY, day_window()) == "success"
    assert checksums(db) == reference


def test_cleared_tasks_rerun_to_the_same_warehouse(reference, sparkify_dag, db):
    reset_schema(db)
    assert run_dag(sparkify_dag, DAY, day_window()) == "success"
    run_id = latest_run_id(db)
    for task_id in (t for t in WAREHOUSE_WRITERS if t not in ("create_tables", "drop_run_tables")):  # in order
        rerun_task(sparkify_dag, task_id, run_id, day_window())
        assert checksums(db) == reference, f"after clearing {task_id}"


def test_a_retry_after_a_partial_failure_completes_exactly(reference, sparkify_dag, db, backend):
    reset_schema(db)
    empty = checksums(db)
    # A trigger makes the publish fail at its users merge, after it has replaced the window's songplays:
    # the whole publish rolls back, so nothing of the run is visible. (PostgreSQL's trigger, set
    # behind the emulator: Redshift has none.)
    backend.execute(
        "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
    )
    backend.execute(
        "CREATE TRIGGER users_fail BEFORE INSERT ON users FOR EACH STATEMENT EXECUTE FUNCTION injected_failure()"
    )
    try:
        assert run_dag(sparkify_dag, DAY, day_window()) == "failed"
    finally:
        backend.execute("DROP TRIGGER users_fail ON users")
    assert checksums(db) == empty
    assert db.execute("SELECT COUNT(*) FROM song_file_ledger").fetchone()[0] == 0
    run_id = latest_run_id(db)
    rerun_task(sparkify_dag, "publish", run_id, day_window())  # what Airflow retries
    assert checksums(db) == reference


@pytest.fixture(scope="module")
def busy_block(sample_data, sparkify_dag, warehouse_dsn) -> tuple[datetime, dict]:
    """The first of the sample's BUSY_HOURS busiest consecutive hours, and the warehouse's checksums after one
    windowed run over them."""
    import psycopg

    first = busiest_free_block(sample_data, BUSY_HOURS, set()).replace(tzinfo=timezone.utc)
    window = {"window_start": first.isoformat(), "window_end": (first + timedelta(hours=BUSY_HOURS)).isoformat()}
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        reset_schema(conn)
        assert run_dag(sparkify_dag, first, window) == "success"
        sums = checksums(conn)
    assert sums["songplays"][0] > 0 and sums["users"][0] > 0
    return first, sums


def shuffled_hours(first: datetime, count: int) -> list[datetime]:
    hours = [first + timedelta(hours=h) for h in range(count)]
    random.Random(20181115).shuffle(hours)
    assert hours != sorted(hours), "the order should be shuffled"
    return hours


def test_hourly_runs_in_shuffled_order_equal_one_windowed_run(busy_block, sparkify_dag, db):
    """The busiest hours of the sample; `make stress` runs the whole day (the test below)."""
    first, windowed = busy_block
    reset_schema(db)
    for hour in shuffled_hours(first, BUSY_HOURS):
        assert run_dag(sparkify_dag, hour) == "success", hour
    assert checksums(db) == windowed


@pytest.mark.stress  # 24 runs, 1.5-2.5 min: `make stress` runs it, `make test` runs the busy hours above
def test_all_24_hours_of_the_day_in_shuffled_order_equal_one_windowed_run(reference, sparkify_dag, db):
    reset_schema(db)
    for hour in shuffled_hours(DAY, 24):
        assert run_dag(sparkify_dag, hour) == "success", hour
    assert checksums(db) == reference
