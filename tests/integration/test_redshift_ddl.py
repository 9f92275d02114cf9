"""The Redshift emulator's DDL rewriting, run on the real PostgreSQL of the local stack.

The rewritten statements go to PostgreSQL directly (its private socket): they are what the
emulator sends, not what a client may send it. Every statement of include/sql/create_tables.sql,
rewritten, creates its table and its sort-key index, and runs again as a no-op. Once the tables
exist, the rewritten CREATE TABLE IF NOT EXISTS takes no lock at all, so it never waits behind a
session that is loading the table (issue 13).
"""

from __future__ import annotations

import psycopg
import pytest

from local_stack.redshift.statements import rewrite_ddl
from local_stack.warehouse_server import WarehouseServer
from sparkify.ddl import split_statements
from tests.support import SQL_DIR

pytestmark = pytest.mark.integration
SCHEMA = "redshift_ddl_test"
REDSHIFT_DDL = split_statements((SQL_DIR / "create_tables.sql").read_text())


@pytest.fixture
def schema(stack):
    """A fresh schema; returns a function that opens an autocommit connection to PostgreSQL working in it."""
    backend_dsn = WarehouseServer(stack).backend_dsn()
    admin = psycopg.connect(backend_dsn, autocommit=True)
    admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    admin.execute(f"CREATE SCHEMA {SCHEMA}")
    connections = [admin]

    def connect() -> psycopg.Connection:
        conn = psycopg.connect(backend_dsn, autocommit=True, options=f"-c search_path={SCHEMA}")
        connections.append(conn)
        return conn

    yield connect
    admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    for conn in connections:
        conn.close()


def create_tables(conn: psycopg.Connection) -> None:
    for statement in REDSHIFT_DDL:
        conn.execute(rewrite_ddl(statement))


def sort_indexes(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND indexname LIKE '%%sortkey_idx'",
        (SCHEMA,),
    ).fetchall()
    return dict(rows)


def test_create_tables_sql_runs_on_postgresql_twice(schema):
    conn = schema()
    create_tables(conn)
    tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,))}
    assert tables == {s.split("EXISTS", 1)[1].split()[0] for s in REDSHIFT_DDL}
    indexes = sort_indexes(conn)
    assert indexes["songplays_sortkey_idx"].endswith("USING btree (start_time, user_id)")
    assert indexes["staging_events_sortkey_idx"].endswith("USING btree (ts)")
    assert len(indexes) == sum("SORTKEY" in s for s in REDSHIFT_DDL)
    create_tables(conn)  # idempotent, as on Redshift
    assert sort_indexes(conn) == indexes


def test_existing_table_means_no_lock_and_no_wait_behind_a_writer(schema):
    """Issue 13: a session inserting into songplays must not block create_tables in another session."""
    setup, writer, creator = schema(), schema(), schema()
    create_tables(setup)
    songplays = next(s for s in REDSHIFT_DDL if "songplays" in s)
    with writer.transaction():
        writer.execute("INSERT INTO songplays (songplay_id, start_time, user_id) VALUES ('x', now(), 1)")
        creator.execute("SET lock_timeout = '2s'")
        creator.execute(rewrite_ddl(songplays))  # fails with LockNotAvailable if it queued for a SHARE lock
        locks = creator.execute(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'songplays'::regclass"
        ).fetchone()[0]
        assert locks == 0
    assert writer.execute("SELECT count(*) FROM songplays").fetchone()[0] == 1


def test_control_the_old_create_index_if_not_exists_does_wait_behind_the_writer(schema):
    """The same set-up catches the issue 13 lock: CREATE INDEX IF NOT EXISTS queues for a SHARE lock."""
    setup, writer, creator = schema(), schema(), schema()
    create_tables(setup)
    with writer.transaction():
        writer.execute("INSERT INTO songplays (songplay_id, start_time, user_id) VALUES ('x', now(), 1)")
        creator.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            creator.execute('CREATE INDEX IF NOT EXISTS "songplays_sortkey_idx" ON songplays (start_time, user_id)')


def test_redshift_column_attributes_work_on_postgresql(schema):
    conn = schema()
    conn.execute(
        rewrite_ddl(
            "CREATE TABLE IF NOT EXISTS events (id BIGINT IDENTITY(100, 10) ENCODE az64, "
            "body VARCHAR(MAX) ENCODE lzo, kind NVARCHAR(16) DISTKEY, at TIMESTAMP SORTKEY) "
            "DISTSTYLE KEY BACKUP NO"
        )
    )
    conn.execute("INSERT INTO events (body, kind, at) VALUES (repeat('x', 65535), 'a', now()), ('y', 'b', now())")
    assert [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")] == [100, 110]
    assert sort_indexes(conn)["events_sortkey_idx"].endswith("USING btree (at)")
    conn.execute(rewrite_ddl("ALTER TABLE events ALTER DISTSTYLE ALL"))
    conn.execute(rewrite_ddl("ALTER TABLE events ALTER COMPOUND SORTKEY (kind, at)"))
    conn.execute(rewrite_ddl("ALTER TABLE events ADD COLUMN note VARCHAR(MAX) ENCODE zstd"))
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute(rewrite_ddl("ALTER TABLE no_such_table ALTER DISTSTYLE EVEN"))
    with pytest.raises(psycopg.errors.DuplicateTable):  # without IF NOT EXISTS, as on Redshift
        conn.execute(rewrite_ddl("CREATE TABLE events (a INT) SORTKEY (a)"))
