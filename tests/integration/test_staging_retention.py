"""Run tables: a run's teardown drops them, the retention sweep collects leftovers, and both are serialized
with a run's own registration.

`created_at` in `staging_tables` is the tables' last use: a run that (re)creates its
tables refreshes it, so a cleared old run executed again is not cleaned up under its feet;
and a run still queued or running in Airflow keeps its tables however old they are.
Every transaction on the registry starts with `LOCK TABLE staging_tables`: Redshift's LOCK takes an
exclusive lock held to the end of the transaction (https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html).
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from sparkify import staging
from sparkify.staging import StagingSettingError, prepare_run_staging, run_scoped, teardown_run_staging
from tests.support import StatementLog, reset_schema, run_dag

pytestmark = pytest.mark.integration

BASES = ["staging_events", "staging_songs", "staging_song_files"]
RUN_TABLES = [*BASES, "songplays", "users", "songs", "artists", "time"]  # the DAG's 8 run tables
RUN_TABLE = re.compile(r"__r[0-9a-f]{12}$")
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


def teardown(db, run_id: str, keep: bool = False, limit: int = staging.KEPT_RUNS_LIMIT) -> dict[str, list[str]]:
    with db.transaction(), db.cursor() as cursor:
        return teardown_run_staging(cursor, RUN_TABLES, run_id, keep, lambda ids: [], limit)


def all_tables(db) -> set[str]:
    return {name for (name,) in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}


def registered_runs(db) -> dict[str, int]:
    return dict(db.execute("SELECT run_id, COUNT(*) FROM staging_tables GROUP BY run_id").fetchall())


def kept_runs(db) -> list[str]:
    return [r for (r,) in db.execute("SELECT run_id FROM kept_failed_runs ORDER BY kept_at, run_id").fetchall()]


def test_a_teardown_drops_exactly_its_runs_tables(db, stack):
    reset_schema(db)
    for run_id in (OLD, NEW):
        with db.transaction(), db.cursor() as cursor:
            prepare_run_staging(cursor, RUN_TABLES, run_id, 48)
    before = all_tables(db)
    own = {run_scoped(base, OLD) for base in RUN_TABLES}
    assert own <= before and len(own) == 8

    log = StatementLog(stack)
    result = teardown(db, OLD)

    assert sorted(result["dropped"]) == sorted(own) and result["kept"] == []
    drops = [line for line in log.lines() if " DROP TABLE " in line]
    assert len(drops) == 1 and all(f'"{name}"' in drops[0] for name in own)  # one DROP TABLE of all eight
    assert all_tables(db) == before - own, "the teardown dropped another table, or kept one of its run's"
    assert registered_runs(db) == {NEW: 8}
    assert teardown(db, OLD)["dropped"] == sorted(own)  # a retried teardown finds nothing left and succeeds
    assert all_tables(db) == before - own


def test_a_teardown_whose_run_lost_a_table_by_hand_drops_the_others_and_forgets_all(db):
    reset_schema(db)
    with db.transaction(), db.cursor() as cursor:
        prepare_run_staging(cursor, RUN_TABLES, OLD, 48)
    own = sorted(run_scoped(base, OLD) for base in RUN_TABLES)
    db.execute(f'DROP TABLE "{own[0]}"')  # an operator dropped one by hand; its registry row stays
    assert registered_runs(db) == {OLD: 8}

    assert teardown(db, OLD)["dropped"] == own

    assert not set(own) & all_tables(db) and registered_runs(db) == {}


def test_a_teardown_keeps_a_failed_runs_tables_only_when_asked_and_within_the_bound(db):
    reset_schema(db)
    runs = [f"manual__failed_{n}" for n in range(3)]
    for run_id in runs:
        with db.transaction(), db.cursor() as cursor:
            prepare_run_staging(cursor, RUN_TABLES, run_id, 48)
        result = teardown(db, run_id, keep=True, limit=2)
        assert sorted(result["kept"]) == sorted(run_scoped(b, run_id) for b in RUN_TABLES)
    # at most 2 kept runs: the oldest one's tables went when the third was kept
    assert kept_runs(db) == runs[1:] and registered_runs(db) == {runs[1]: 8, runs[2]: 8}
    assert {t for t in all_tables(db) if RUN_TABLE.search(t)} == {
        run_scoped(b, r) for b in RUN_TABLES for r in runs[1:]
    }

    # kept tables live no longer than the retention: a later run's sweep drops them and forgets the run
    age(db, runs[1], 49)
    with db.transaction(), db.cursor() as cursor:
        prepare_run_staging(cursor, RUN_TABLES, NEW, 48, lambda ids: [])
    assert kept_runs(db) == [runs[2]] and set(registered_runs(db)) == {runs[2], NEW}

    # a kept run that is cleared and runs again is no longer kept; its teardown then drops its tables
    with db.transaction(), db.cursor() as cursor:
        prepare_run_staging(cursor, RUN_TABLES, runs[2], 48)
    assert kept_runs(db) == []
    teardown(db, runs[2])
    assert set(registered_runs(db)) == {NEW}


def test_a_run_is_told_which_of_its_tables_must_be_created_anew_and_may_refuse(db):
    """create_tables refuses to recreate tables its run's teardown dropped unless their tasks run again
    (dags/sparkify_etl.py); here the hook's contract: told only of missing tables, and a refusal changes nothing."""
    reset_schema(db)
    told: list[list[str]] = []
    with db.transaction(), db.cursor() as cursor:
        prepare_run_staging(cursor, BASES, OLD, 48, on_missing=told.append)
    with db.transaction(), db.cursor() as cursor:
        prepare_run_staging(cursor, BASES, OLD, 48, on_missing=told.append)  # a retry: nothing missing
    assert told == [[run_scoped(base, OLD) for base in BASES]]
    teardown(db, OLD)

    def refuse(missing: list[str]) -> None:
        raise RuntimeError(f"would recreate {missing}")

    with pytest.raises(RuntimeError, match="would recreate"):
        with db.transaction(), db.cursor() as cursor:
            prepare_run_staging(cursor, BASES, OLD, 48, on_missing=refuse)
    assert tables_of(db, OLD) == set() and registered_runs(db) == {}


@pytest.mark.parametrize("value", ["none", "", "false", "FAILED", " all ", "true", "on"])
def test_keep_modes(value):
    assert staging.parse_keep_mode(value) in staging.KEEP_MODES


@pytest.mark.parametrize("value", ["yes please", "2", None, True])
def test_a_bad_keep_mode_is_refused(value):
    with pytest.raises(StagingSettingError, match="sparkify_keep_run_tables=.* none .* failed .* all"):
        staging.parse_keep_mode(value)


def race(warehouse_dsn) -> tuple[bool, list[BaseException]]:
    """OLD's tables expired; a clean-up (NEW's create_tables) chose them and pauses before dropping them, while
    OLD, cleared, registers its tables again. Returns whether OLD's registration finished during the pause."""
    decided, release, registered = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def still_active(run_ids: list[str]) -> list[str]:  # asked after the clean-up chose, before it drops
        decided.set()
        release.wait(30)
        return []  # OLD had failed when the clean-up asked Airflow

    def in_a_session(run_id: str, active, done: threading.Event | None = None) -> None:
        try:
            with psycopg.connect(warehouse_dsn) as conn, conn.cursor() as cursor:  # one transaction, committed
                prepare_run_staging(cursor, BASES, run_id, 48, active)
            if done:
                done.set()
        except BaseException as error:  # noqa: BLE001  (reported by the test)
            errors.append(error)

    clean_up = threading.Thread(target=in_a_session, args=(NEW, still_active))
    clean_up.start()
    assert decided.wait(30), "the clean-up never reached its decision"
    rerun = threading.Thread(target=in_a_session, args=(OLD, lambda ids: [], registered))
    rerun.start()
    registered_meanwhile = registered.wait(3)
    release.set()
    clean_up.join(30)
    rerun.join(30)
    return registered_meanwhile, errors


def test_a_clean_up_and_a_cleared_runs_registration_are_serialized(warehouse_dsn, db):
    """Finding 8: without a lock, a run cleared while another run's create_tables cleans up could lose the
    tables it had just registered. With LOCK TABLE staging_tables its registration waits for the clean-up
    to commit, and then creates its tables again."""
    reset_schema(db)
    prepare(db, OLD)
    age(db, OLD, 100)

    registered_meanwhile, errors = race(warehouse_dsn)

    assert errors == []
    assert not registered_meanwhile, "the cleared run registered its tables while the clean-up held its decision"
    assert len(tables_of(db, OLD)) == 3, "the clean-up dropped the tables of the run that had just registered them"
    assert registered_runs(db) == {OLD: 3, NEW: 3}


def test_without_the_lock_the_race_loses_the_cleared_runs_tables(warehouse_dsn, db, monkeypatch):
    """The control: the same interleaving with the lock removed goes wrong, so the test above can fail."""
    reset_schema(db)
    prepare(db, OLD)
    age(db, OLD, 100)
    monkeypatch.setattr(staging, "lock_registry", lambda cursor: None)

    registered_meanwhile, errors = race(warehouse_dsn)

    assert registered_meanwhile
    # READ COMMITTED: the clean-up drops the tables; SERIALIZABLE: one of the two transactions is refused
    assert len(tables_of(db, OLD)) < 3 or errors


def run_tables(db) -> set[str]:
    return {t for t in all_tables(db) if RUN_TABLE.search(t)}


def test_a_run_drops_its_tables_when_it_ends_and_keeps_a_failed_ones_only_when_asked(
    sparkify_dag, sample_data, db, backend, monkeypatch
):
    """Through Airflow (dag.test): the teardown runs after a successful and after a failed run, and a
    failed run still ends failed."""
    monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_KEEP_RUN_TABLES", raising=False)
    reset_schema(db)
    day = datetime(2018, 11, 15, tzinfo=timezone.utc)
    assert run_dag(sparkify_dag, day) == "success"
    assert db.execute("SELECT COUNT(*) FROM songs").fetchone()[0] > 0  # the run published
    assert run_tables(db) == set() and registered_runs(db) == {}

    # publish fails (PostgreSQL's trigger, behind the emulator): the work failed after create_tables
    backend.execute(
        "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
    )
    backend.execute(
        "CREATE TRIGGER users_fail BEFORE INSERT ON users FOR EACH STATEMENT EXECUTE FUNCTION injected_failure()"
    )
    try:
        assert run_dag(sparkify_dag, day + timedelta(hours=10)) == "failed"  # a successful teardown changes nothing
        assert run_tables(db) == set() and registered_runs(db) == {}

        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_KEEP_RUN_TABLES", "failed")
        assert run_dag(sparkify_dag, day + timedelta(hours=11)) == "failed"
    finally:
        backend.execute("DROP TRIGGER users_fail ON users")
    [failed] = kept_runs(db)
    assert run_tables(db) == {run_scoped(base, failed) for base in RUN_TABLES}
    assert registered_runs(db) == {failed: 8}

    assert run_dag(sparkify_dag, day + timedelta(hours=12)) == "success"  # a successful run's tables still go
    assert run_tables(db) == {run_scoped(base, failed) for base in RUN_TABLES}
    assert kept_runs(db) == [failed]
