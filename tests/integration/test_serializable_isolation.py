"""The emulator runs every client transaction at SERIALIZABLE isolation, as Redshift does, and reports a
failure to serialize as Redshift's error 1023; the project's transaction helper retries it.

https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation.html (error 1023, its cure: retry)
https://docs.aws.amazon.com/redshift/latest/dg/r_BEGIN.html (every isolation level runs as SERIALIZABLE)
https://docs.aws.amazon.com/redshift/latest/dg/r_STL_TR_CONFLICT.html (the error's DETAIL gives the table id)
https://docs.aws.amazon.com/redshift/latest/dg/c_intro_STL_tables.html (the system logs: rows are written
as the cluster runs, not in the client's transaction)
"""

from __future__ import annotations

import json
import logging
import uuid

import psycopg
import pytest

from local_stack.warehouse_server import WarehouseServer
from sparkify.warehouse import SerializationRetries, run_transaction, warehouse_hook
from tests.support import put_objects

# A client's own wish: the emulator overrides it (every session is SERIALIZABLE, whatever it asks for).
READ_COMMITTED = "-c default_transaction_isolation=read\\ committed"
KEYS = "ACCESS_KEY_ID 'isolation-key' SECRET_ACCESS_KEY 'isolation-secret'"


@pytest.fixture
def two_tables(db):
    """Two empty tables (tab1, tab2), named for this test, and their table ids (read from pg_class)."""
    suffix = uuid.uuid4().hex[:8]
    names = (f"iso_a_{suffix}", f"iso_b_{suffix}")
    for name in names:
        db.execute(f"CREATE TABLE {name} (v INTEGER)")
    ids = {name: db.execute("SELECT oid FROM pg_class WHERE relname = %s", (name,)).fetchone()[0] for name in names}
    yield names, ids
    for name in names:
        db.execute(f"DROP TABLE IF EXISTS {name}")


def start_cycle(other: psycopg.Connection, first: str, second: str) -> None:
    """`other` reads `second` in an open transaction (its snapshot), so that a transaction that reads `first` and
    writes `second` forms a cycle with it once `finish_cycle` has written `first` and committed."""
    other.execute(f"SELECT count(*) FROM {second}").fetchone()


def finish_cycle(other: psycopg.Connection, first: str) -> None:
    other.execute(f"INSERT INTO {first} VALUES (2)")
    other.commit()


def test_client_sessions_are_serializable_and_the_loser_of_a_cycle_gets_error_1023(warehouse_dsn, two_tables, stack):
    (tab1, tab2), ids = two_tables
    emulator_log = WarehouseServer(stack).emulator_log
    logged_before = emulator_log.stat().st_size
    with (
        psycopg.connect(warehouse_dsn, options=READ_COMMITTED) as session1,
        psycopg.connect(warehouse_dsn) as session2,
    ):
        assert session1.execute("SHOW transaction_isolation").fetchone()[0] == "serializable"
        session1_pid = session1.execute("SELECT pg_backend_pid()").fetchone()[0]
        session1.rollback()
        # Redshift accepts the weaker levels and runs them as SERIALIZABLE.
        session1.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        assert session1.execute("SHOW transaction_isolation").fetchone()[0] == "serializable"
        session1.rollback()
        session1.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED")
        session1.execute("SET default_transaction_isolation = 'read committed'")
        session1.commit()
        assert session1.execute("SHOW transaction_isolation").fetchone()[0] == "serializable"
        session1.rollback()

        start_cycle(session2, tab1, tab2)
        session1.execute(f"SELECT count(*) FROM {tab1}").fetchone()
        session1.execute(f"INSERT INTO {tab2} VALUES (1)")
        finish_cycle(session2, tab1)  # the first to commit wins
        with pytest.raises(psycopg.Error) as raised:
            session1.execute(f"INSERT INTO {tab2} VALUES (3)")
            session1.commit()
        session1.rollback()
    diag = raised.value.diag
    assert diag.sqlstate == "XX000"
    assert diag.message_primary == "1023"
    assert diag.message_detail.startswith(
        f"Serializable isolation violation on table - {ids[tab2]}, transactions forming the cycle are: "
    )
    assert diag.message_detail.endswith(");")
    # ... and the emulator counts it in its log, naming the session (the stress test adds them up)
    with emulator_log.open("rb") as log:
        log.seek(logged_before)
        written = log.read().decode()
    assert f"serialization failure (1023) in pid {session1_pid}: could not serialize access" in written


def test_a_deadlock_reaches_the_client_as_postgresql_reports_it_and_the_emulator_logs_it(
    warehouse_dsn, two_tables, stack
):
    """Redshift reports a deadlock as PostgreSQL does (SQLSTATE 40P01); the emulator also logs it, since the server
    log keeps no client error, so that the stress test's count of deadlocks can see it."""
    import threading

    (tab1, tab2), _ = two_tables
    emulator_log = WarehouseServer(stack).emulator_log
    logged_before = emulator_log.stat().st_size
    errors: list[psycopg.Error] = []
    with psycopg.connect(warehouse_dsn) as one, psycopg.connect(warehouse_dsn) as two:
        pids = {
            one.execute("SELECT pg_backend_pid()").fetchone()[0],
            two.execute("SELECT pg_backend_pid()").fetchone()[0],
        }
        one.execute(f"LOCK TABLE {tab1}")
        two.execute(f"LOCK TABLE {tab2}")

        def lock(conn: psycopg.Connection, table: str) -> None:
            try:
                conn.execute(f"LOCK TABLE {table}")
            except psycopg.Error as error:
                errors.append(error)
            finally:
                conn.rollback()

        waiter = threading.Thread(target=lock, args=(one, tab2))
        waiter.start()
        lock(two, tab1)  # each waits for the other: PostgreSQL's deadlock check ends one of them
        waiter.join(timeout=30)
    assert len(errors) == 1 and errors[0].diag.sqlstate == "40P01", errors
    with emulator_log.open("rb") as log:
        log.seek(logged_before)
        written = log.read().decode()
    assert any(f"deadlock (40P01) in pid {pid}: deadlock detected" in written for pid in pids), written[-2000:]


class Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_the_transaction_helper_retries_a_serialization_failure_and_counts_it(warehouse_dsn, two_tables, db):
    (tab1, tab2), ids = two_tables
    hook = warehouse_hook("redshift", application_name="test_serializable_isolation")
    retries = SerializationRetries()
    attempts: list[int] = []
    delays: list[float] = []

    with psycopg.connect(warehouse_dsn) as other:

        def work(cursor) -> int:
            attempts.append(1)
            cursor.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")  # the helper's own session
            if len(attempts) == 1:
                start_cycle(other, tab1, tab2)
            cursor.execute(f"SELECT count(*) FROM {tab1}")
            seen = cursor.fetchone()[0]
            cursor.execute(f"INSERT INTO {tab2} VALUES (1)")
            if len(attempts) == 1:
                finish_cycle(other, tab1)
            return seen

        logger, recorded = logging.getLogger("test_serializable_isolation"), Recorded()
        logger.addHandler(recorded)
        try:
            seen = run_transaction(
                hook, work, "the test's transaction", retries=retries, sleep=delays.append, logger=logger
            )
        finally:
            logger.removeHandler(recorded)

    assert len(attempts) == 2
    assert seen == 1  # the retry saw the winner's row
    assert retries.count == 1 and retries.tables == [f"public.{tab2}"]
    assert len(delays) == 1 and 0.5 <= delays[0] <= 1.5
    logged = [m for m in recorded.messages if "Serialization failure" in m]
    assert len(logged) == 1
    assert f"on table public.{tab2}" in logged[0] and "attempt 1 of 5" in logged[0]
    assert db.execute(f"SELECT count(*) FROM {tab2}").fetchone()[0] == 1  # committed once: the failed try rolled back
    assert f"table - {ids[tab2]}," in logged[0]  # Redshift's error, as the driver raised it


def test_a_deterministic_error_is_not_retried(two_tables):
    (tab1, _), _ = two_tables
    hook = warehouse_hook("redshift", application_name="test_serializable_isolation")
    retries = SerializationRetries()
    attempts: list[int] = []

    def work(cursor) -> None:
        attempts.append(1)
        cursor.execute(f"INSERT INTO {tab1} VALUES (1)")
        cursor.execute("SELECT CAST('not a number' AS INTEGER)")  # 22P02, the same on every try

    with pytest.raises(Exception) as raised:
        run_transaction(hook, work, "a bad cast", retries=retries, sleep=lambda _: None)
    assert "22P02" in str(raised.value)
    assert len(attempts) == 1 and retries.count == 0


def test_concurrent_copies_see_their_own_load_errors_without_a_serialization_failure(warehouse_dsn, s3, db):
    """Two sessions COPY with rejects (MAXERROR) in open transactions whose snapshots predate the rows the
    emulator logs for them over its side connections; each reads the load logs in its transaction and sees its
    own rows at once, as on Redshift, and neither read makes a serialization failure: both commit."""
    bucket, suffix = "sparkify-isolation-tests", uuid.uuid4().hex[:8]
    bad = {"n": "x"}  # rejected: not an integer
    files = {  # session 1: 1 good row and 2 rejects; session 2: 2 good rows and 1 reject
        f"{suffix}/one/a.json": "\n".join(json.dumps(r) for r in ({"n": 1}, bad, bad)),
        f"{suffix}/two/a.json": "\n".join(json.dumps(r) for r in ({"n": 2}, {"n": 3}, bad)),
    }
    put_objects(s3, bucket, files)
    tables = [f"iso_copy_{n}_{suffix}" for n in ("one", "two")]
    for table in tables:
        db.execute(f"CREATE TABLE {table} (n INTEGER)")
    expected = {"one": (1, 2), "two": (2, 1)}  # (rows loaded, rows rejected), from `files`
    try:
        with psycopg.connect(warehouse_dsn) as one, psycopg.connect(warehouse_dsn) as two:
            sessions = {"one": one, "two": two}
            for conn in sessions.values():  # both snapshots first: older than either COPY's log rows
                conn.execute("SELECT count(*) FROM stl_load_errors").fetchone()
            for (name, conn), table in zip(sessions.items(), tables, strict=True):
                conn.execute(
                    f"COPY {table} FROM 's3://{bucket}/{suffix}/{name}/' {KEYS} FORMAT AS JSON 'auto' MAXERROR 5"
                )
            seen = {}
            for name, conn in sessions.items():
                copied = conn.execute("SELECT pg_last_copy_id(), pg_last_copy_count()").fetchone()
                rejects = conn.execute(
                    "SELECT count(*) FROM stl_load_errors WHERE query = pg_last_copy_id()"
                ).fetchone()[0]
                history = conn.execute(
                    "SELECT status, loaded_rows, error_count FROM sys_load_history WHERE query_id = pg_last_copy_id()"
                ).fetchall()
                commits = conn.execute(
                    "SELECT count(*) FROM stl_load_commits WHERE query = pg_last_copy_id()"
                ).fetchone()[0]
                every = conn.execute("SELECT count(*) FROM stl_load_errors").fetchone()[0]  # the whole log, too
                seen[name] = (copied, rejects, history, commits, every)
            for table, conn in zip(tables, sessions.values(), strict=True):
                conn.execute(f"INSERT INTO {table} VALUES (0)")  # each writes what it read: a cycle would fail
            one.commit()
            two.commit()
        for name, (loaded, rejected) in expected.items():
            (query, count), rejects, history, commits, every = seen[name]
            assert count == loaded and rejects == rejected
            assert history == [("completed", loaded, rejected)]
            assert commits == 1
            assert every >= rejected
        assert seen["one"][0][0] != seen["two"][0][0]
        for table, (loaded, _) in zip(tables, expected.values(), strict=True):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == loaded + 1
    finally:
        for table in tables:
            db.execute(f"DROP TABLE IF EXISTS {table}")
