"""Redshift's table quota on the emulator: CREATE TABLE beyond it is refused, temporary tables included.

https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html ("Tables for large cluster
node type": 9,900, including permanent tables, temporary tables and materialized views; views and system
tables are not counted). https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html: "Amazon
Redshift enforces a quota of the number of tables per cluster by node type, including user-defined
temporary tables". The error, as clients of real clusters report it (JDBC: "Invalid operation: 1040
Details: Maximum tables limit exceeded. The maximum number of tables per cluster is 9900 for this instance
type. The limit includes permanent and temporary tables."), is ERROR 1040 with that detail.

Each test lowers the quota of the session's warehouse to a few tables more than the database holds (the
count below is the test's own), and restores it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from local_stack import cli
from local_stack.processes import free_port, port_is_open
from local_stack.redshift import quota
from local_stack.redshift.server import PASSWORD_VARIABLE
from local_stack.settings import PROJECT_ROOT
from local_stack.warehouse_server import BACKEND_PORT, WarehouseServer

pytestmark = pytest.mark.integration
SCHEMA = "quota_tests"
PYTHONPATH = os.pathsep.join(str(PROJECT_ROOT / folder) for folder in ("include", "plugins"))
# The emulator's own tables (catalog.sql), which are Redshift's system tables: not counted.
SYSTEM_TABLES = (
    "stl_load_errors",
    "stv_emulator_last_copy",
    "stl_emulator_load_history",
    "stl_emulator_load_commits",
    "stl_emulator_query_history",
)
# What Redshift counts, as this test reads the catalog: tables (temporary ones of every session
# included) and materialized views, in the user's schemas.
USER_TABLES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND (n.nspname ~ '^pg_temp_' OR n.nspname !~ '^pg_')
  AND n.nspname NOT IN ('information_schema', 'redshift_emulator')
  AND NOT (n.nspname = 'public' AND c.relname = ANY(%s))
"""


def one(conn: psycopg.Connection, query: str, params: tuple = ()) -> tuple:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row


def user_tables(backend: psycopg.Connection) -> int:
    return one(backend, USER_TABLES, (list(SYSTEM_TABLES),))[0]


def quota_row(conn: psycopg.Connection) -> tuple:
    return one(conn, "SELECT node_type, max_tables FROM redshift_emulator.table_quota")


@pytest.fixture
def set_quota(backend, settings) -> Iterator[Callable[[int], int]]:
    """Set the warehouse's quota to the tables it holds now plus `room`; returns the quota. Restored after.

    The schema is the client's (it is no superuser); the tables the backend makes in it, it may read."""
    saved = quota_row(backend)
    client = sql.Identifier(settings.warehouse_user)
    backend.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    backend.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(SCHEMA), client))
    backend.execute(
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
            sql.Identifier(SCHEMA), client
        )
    )

    def lower(room: int) -> int:
        limit = user_tables(backend) + room
        backend.execute("UPDATE redshift_emulator.table_quota SET max_tables = %s", (limit,))
        return limit

    yield lower
    backend.execute("UPDATE redshift_emulator.table_quota SET node_type = %s, max_tables = %s", saved)
    backend.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))


@pytest.fixture
def connect(warehouse_dsn) -> Iterator[Callable[[], psycopg.Connection]]:
    """Client sessions through the emulator, closed after the test."""
    opened: list[psycopg.Connection] = []

    def new(autocommit: bool = True) -> psycopg.Connection:
        conn = psycopg.connect(warehouse_dsn, autocommit=autocommit)
        opened.append(conn)
        return conn

    yield new
    for conn in opened:
        conn.close()


def assert_quota_error(error: psycopg.Error, limit: int) -> None:
    """Redshift's error 1040, as the module's docstring quotes it."""
    assert error.sqlstate == "XX000"
    assert error.diag.message_primary == "1040"
    assert (error.diag.message_detail or "").startswith(
        f"Maximum tables limit exceeded. The maximum number of tables per cluster is {limit} for this instance "
        "type. The limit includes permanent and temporary tables. (pid:"
    )
    assert quota.NODE_TYPE_VARIABLE in (error.diag.message_hint or "")  # the emulator's own hint: which quota


def table_exists(backend: psycopg.Connection, name: str) -> bool:
    return one(backend, "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{name}",))[0]


# The ways to create a table, each making the table `name` (temporary ones in the session's own schema).
CREATIONS = {
    "create table": "CREATE TABLE quota_tests.{name} (id INTEGER)",
    "create table like": "CREATE TABLE quota_tests.{name} (LIKE quota_tests.base)",
    "create temp table": "CREATE TEMP TABLE {name} (id INTEGER)",
    "#name": "CREATE TABLE #{name} (id INTEGER)",
    "create table as": "CREATE TABLE quota_tests.{name} AS SELECT 1 AS id",
    "create temp table as": "CREATE TEMP TABLE {name} AS SELECT 1 AS id",
    "select into": "SELECT 1 AS id INTO quota_tests.{name}",
    "select into #name": "SELECT 1 AS id INTO #{name}",
    "materialized view": "CREATE MATERIALIZED VIEW quota_tests.{name} AS SELECT 1 AS id",
}


@pytest.mark.parametrize("creation", CREATIONS)
def test_tables_up_to_the_quota_are_created_and_one_more_is_refused(set_quota, connect, backend, creation):
    """Each way of creating a table counts towards the quota and is refused past it:
    https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html"""
    backend.execute("CREATE TABLE quota_tests.base (id INTEGER)")
    limit = set_quota(2)
    session = connect()
    session.execute(CREATIONS[creation].format(name="first"))
    session.execute(CREATIONS[creation].format(name="second"))  # the quota's last table
    with pytest.raises(psycopg.Error) as refused:
        session.execute(CREATIONS[creation].format(name="third"))
    assert_quota_error(refused.value, limit)
    assert user_tables(backend) == limit  # the refused table was rolled back
    session.execute("SELECT 1")  # and the session goes on


def test_views_do_not_count_and_create_table_if_not_exists_of_an_existing_table_passes(set_quota, connect, backend):
    session = connect()
    session.execute("CREATE TABLE quota_tests.kept (id INTEGER)")
    limit = set_quota(0)  # the database is at its quota
    session.execute("CREATE VIEW quota_tests.a_view AS SELECT 1 AS id")
    session.execute("CREATE TABLE IF NOT EXISTS quota_tests.kept (id INTEGER)")
    with pytest.raises(psycopg.Error) as refused:
        session.execute("CREATE TABLE quota_tests.one_more (id INTEGER)")
    assert_quota_error(refused.value, limit)


def test_dropping_a_table_makes_room_for_a_new_one(set_quota, connect, backend):
    session = connect()
    limit = set_quota(1)
    session.execute("CREATE TABLE quota_tests.old_run (id INTEGER)")
    with pytest.raises(psycopg.Error) as refused:
        session.execute("CREATE TABLE quota_tests.new_run (id INTEGER)")
    assert_quota_error(refused.value, limit)
    session.execute("DROP TABLE quota_tests.old_run")
    session.execute("CREATE TABLE quota_tests.new_run (id INTEGER)")
    assert table_exists(backend, "new_run") and not table_exists(backend, "old_run")


def test_the_temporary_tables_of_another_session_count_until_it_ends(set_quota, connect, backend):
    other, session = connect(), connect()
    limit = set_quota(2)
    other.execute("CREATE TABLE #staging_a (id INTEGER)")
    other.execute("CREATE TEMP TABLE staging_b (id INTEGER)")
    with pytest.raises(psycopg.Error) as refused:
        session.execute("CREATE TABLE quota_tests.mine (id INTEGER)")
    assert_quota_error(refused.value, limit)
    other.close()  # its temporary tables end with it ...
    deadline = time.monotonic() + 10
    while user_tables(backend) > limit - 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    session.execute("CREATE TABLE quota_tests.mine (id INTEGER)")  # ... and so does their share of the quota
    assert table_exists(backend, "mine")


def test_a_table_another_transaction_is_creating_counts_before_it_commits(set_quota, connect, backend):
    """Two sessions creating the quota's last table at once: the second is refused even though it cannot see
    the first one's table yet; once the first rolls back, the second gets it."""
    first, second = connect(autocommit=False), connect()
    limit = set_quota(1)
    first.execute("CREATE TABLE quota_tests.first (id INTEGER)")  # not committed
    with pytest.raises(psycopg.Error) as refused:
        second.execute("CREATE TABLE quota_tests.second (id INTEGER)")
    assert_quota_error(refused.value, limit)
    first.rollback()
    second.execute("CREATE TABLE quota_tests.second (id INTEGER)")
    assert table_exists(backend, "second") and not table_exists(backend, "first")


def test_a_table_committed_after_a_transactions_snapshot_still_counts(set_quota, connect, backend):
    """A SERIALIZABLE transaction's snapshot does not hold a table another session committed after it began
    (https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation.html); its creation of the quota's
    last-but-one table must still not pass the quota. It fails as a serialization failure (1023): retried, it
    sees the other table and gets Redshift's 1040."""
    older, other = connect(autocommit=False), connect()
    limit = set_quota(1)
    older.execute("SELECT 1")  # the transaction's snapshot is taken here
    other.execute("CREATE TABLE quota_tests.other (id INTEGER)")  # the quota's last table, committed
    with pytest.raises(psycopg.Error) as refused:
        older.execute("CREATE TABLE quota_tests.older (id INTEGER)")
    assert refused.value.diag.message_primary == "1023", refused.value
    older.rollback()
    with pytest.raises(psycopg.Error) as retried:
        older.execute("CREATE TABLE quota_tests.older (id INTEGER)")
    assert_quota_error(retried.value, limit)
    older.rollback()
    assert user_tables(backend) == limit and not table_exists(backend, "older")


def test_sessions_racing_for_the_last_tables_never_pass_the_quota(set_quota, connect, backend):
    """Client sessions are SERIALIZABLE, as on Redshift: a table another session committed after this
    transaction began is not in its snapshot. Near the quota, creations serialize, and a creation that
    cannot be put in order fails with Redshift's serialization error (1023, a transient error to retry),
    never passing the quota: https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation.html"""
    sessions = [connect() for _ in range(4)]
    limit = set_quota(3)
    start = threading.Barrier(len(sessions))
    created: list[str] = []
    failures: list[psycopg.Error] = []

    def create(index: int, session: psycopg.Connection) -> None:
        start.wait()
        for attempt in range(3):
            name = f"race_{index}_{attempt}"
            try:
                session.execute(f"CREATE TABLE quota_tests.{name} (id INTEGER)")
                created.append(name)
            except psycopg.Error as error:
                failures.append(error)

    threads = [threading.Thread(target=create, args=(i, s)) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert user_tables(backend) <= limit and len(created) + len(failures) == 12 and len(created) <= 3
    for error in failures:
        if error.diag.message_primary == "1023":
            assert "Serializable isolation violation" in (error.diag.message_detail or ""), error
        else:
            assert_quota_error(error, limit)
    for index in range(3 - len(created)):  # no table is counted twice once the race is over
        sessions[0].execute(f"CREATE TABLE quota_tests.after_{index} (id INTEGER)")
    assert user_tables(backend) == limit


def test_the_default_quota_is_that_of_the_infra_dags_dc2_large(backend, settings):
    """dc2.large is a `large` node type: 9,900 tables. https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html"""
    if os.environ.get(quota.NODE_TYPE_VARIABLE) or os.environ.get(quota.MAX_TABLES_VARIABLE):
        pytest.skip("this environment chooses another quota")
    assert quota_row(backend) == ("dc2.large", 9_900)
    assert WarehouseServer(settings).enforced_table_quota() == ("dc2.large", 9_900)


def test_make_status_prints_the_quota(settings, capsys):
    cli.status(settings)
    line = next(line for line in capsys.readouterr().out.splitlines() if "table quota" in line)
    wanted = settings.table_quota
    assert f"{wanted.max_tables:,} tables ({wanted.node_type} x {wanted.number_of_nodes})" in line


@pytest.mark.parametrize(
    ("environment", "arguments", "expected"),
    [
        ({quota.NODE_TYPE_VARIABLE: "ra3.4xlarge"}, [], ("ra3.4xlarge", 200_000)),
        ({}, ["--node-type", "ra3.xlplus", "--number-of-nodes", "1"], ("ra3.xlplus", 9_900)),
        ({quota.NODE_TYPE_VARIABLE: "ra3.xlplus"}, ["--number-of-nodes", "2"], ("ra3.xlplus", 20_000)),
        ({quota.MAX_TABLES_VARIABLE: "25"}, [], ("dc2.large", 25)),
    ],
)
def test_an_emulator_enforces_the_quota_of_its_node_type(stack, backend, environment, arguments, expected):
    """An emulator of its own, in front of a database of its own, started as `make up` starts it, with the
    quota of its node type: https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html"""
    database = "quota_node_type"
    backend.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    backend.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    warehouse, port = WarehouseServer(stack), free_port()
    variables = (quota.NODE_TYPE_VARIABLE, quota.NUMBER_OF_NODES_VARIABLE, quota.MAX_TABLES_VARIABLE)
    env = {k: v for k, v in os.environ.items() if k not in variables}
    env |= {**environment, PASSWORD_VARIABLE: stack.warehouse_password, "PYTHONPATH": PYTHONPATH}
    command = [sys.executable, "-m", "local_stack.redshift", "--port", str(port), "--database", database]
    command += ["--user", stack.warehouse_user]  # the side connections: the private superuser (the default)
    command += ["--backend-socket-dir", str(warehouse.socket_dir), "--backend-port", str(BACKEND_PORT), *arguments]
    emulator = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not port_is_open("127.0.0.1", port) and emulator.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert emulator.poll() is None, emulator.stderr.read().decode() if emulator.stderr else ""
        with psycopg.connect(warehouse.backend_dsn(database), autocommit=True) as conn:
            assert quota_row(conn) == expected
    finally:
        emulator.terminate()
        emulator.wait(10)
        backend.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def test_an_unknown_node_type_stops_the_emulator_with_the_known_sizes(stack):
    env = {**os.environ, quota.NODE_TYPE_VARIABLE: "dc2.huge", "PYTHONPATH": PYTHONPATH}
    result = subprocess.run(
        [sys.executable, "-m", "local_stack.redshift", "--backend-socket-dir", "/nonexistent"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Unknown Redshift node type 'dc2.huge'" in result.stderr and "16xlarge" in result.stderr
