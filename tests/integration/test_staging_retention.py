"""Staging retention never drops the tables of a run that is still running.

`created_at` in `staging_tables` is the tables' last use: a run that (re)creates its
tables refreshes it, so a cleared old run executed again is not cleaned up under its feet;
and a run still queued or running in Airflow keeps its tables however old they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sparkify.staging import StagingSettingError, prepare_run_staging, run_scoped
from tests.support import reset_schema, run_dag

pytestmark = pytest.mark.integration

BASES = ["staging_events", "staging_songs", "staging_song_files"]
OLD = "scheduled__2018-11-15T00:00:00+00:00"
NEW = "scheduled__2018-11-18T00:00:00+00:00"


def prepare(db, run_id: str, retention: float = 48, active: tuple[str, ...] = ()) -> list[str]:
    with db.transaction(), db.cursor() as cursor:
        return prepare_run_staging(cursor, BASES, run_id, retention, lambda ids: [r for r in ids if r in active])


def age(db, run_id: str, hours: float) -> None:
    """Make run_id's tables look unused for `hours`."""
    db.execute(
        "UPDATE staging_tables SET created_at = created_at - %s WHERE run_id = %s", (timedelta(hours=hours), run_id)
    )


def tables_of(db, run_id: str) -> set[str]:
    names = {run_scoped(base, run_id) for base in BASES}
    present = {name for (name,) in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    return names & present


def test_a_cleared_old_run_that_runs_again_keeps_its_tables(db):
    reset_schema(db)
    prepare(db, OLD)
    age(db, OLD, 72)
    prepare(db, OLD)  # the old run was cleared and its create_tables ran again: it uses its tables now

    prepare(db, NEW)  # even with no run-state information (nothing reported as running)

    assert len(tables_of(db, OLD)) == 3, "a later run dropped the tables of a run that had just (re)used them"


def test_the_tables_of_a_running_run_are_kept_however_old(db):
    reset_schema(db)
    prepare(db, OLD)
    age(db, OLD, 1000)

    prepare(db, NEW, active=(OLD,))
    assert len(tables_of(db, OLD)) == 3

    prepare(db, NEW, active=())  # once the old run has finished, its tables go
    assert tables_of(db, OLD) == set()
    assert {r for (r,) in db.execute("SELECT DISTINCT run_id FROM staging_tables")} == {NEW}


def test_recently_used_tables_are_kept_and_retention_under_an_hour_is_refused(db):
    reset_schema(db)
    prepare(db, OLD)
    age(db, OLD, 0.5)
    prepare(db, NEW, retention=1)
    assert len(tables_of(db, OLD)) == 3
    for retention in (0, -1, 0.25, float("nan"), float("inf")):
        with pytest.raises(StagingSettingError):
            prepare(db, NEW, retention=retention)
    assert len(tables_of(db, OLD)) == 3


def test_the_dag_asks_airflow_which_runs_are_still_running(sparkify_dag, sample_data, db, airflow_db):
    """End to end: create_tables keeps a running run's old tables, drops a finished (unknown) run's."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    reset_schema(db)
    day = datetime(2018, 11, 15, tzinfo=timezone.utc)
    assert run_dag(sparkify_dag, day) == "success"  # the DAG is now known to the metadata database
    running, gone = "manual__still_running", "manual__long_finished"
    with create_session() as session:
        session.add(
            DagRun(
                dag_id=sparkify_dag.dag_id,
                run_id=running,
                run_type=DagRunType.MANUAL,
                state=DagRunState.RUNNING,
                logical_date=None,
                run_after=day,
            )
        )
    for run_id in (running, gone):
        prepare(db, run_id)
    for run_id in (running, gone):
        age(db, run_id, 100)

    assert run_dag(sparkify_dag, day + timedelta(hours=1)) == "success"

    assert len(tables_of(db, running)) == 3, "create_tables dropped the tables of a running run"
    assert tables_of(db, gone) == set()
