"""Redshift's informational constraints, through the emulator: declared and recorded, never enforced; NOT NULL enforced.

- https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html: uniqueness, primary key
  and foreign key constraints are informational only and not enforced; NOT NULL is enforced.
- https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html: the column and table
  constraints; a primary key's columns hold non-null values.
- https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html: ADD table_constraint (never on a
  nullable column), DROP CONSTRAINT by the name information_schema.table_constraints shows.
- https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html: CHECK.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from local_stack.redshift.constraints import RELATION_REWRITES
from sparkify.operators import LoadDimensionOperator
from sparkify.operators.load_dimension import DuplicateKeyError
from tests.support import in_fresh_schema, reset_schema, task_context

pytestmark = pytest.mark.integration
SCHEMA = "redshift_constraints_test"
HOUR = task_context("2018-11-15T03:00:00", "2018-11-15T04:00:00")


def translated(sql: str) -> str:
    """`sql` with the catalog names replaced as the emulator's statement translator replaces them."""
    for (schema, name), view in RELATION_REWRITES.items():
        sql = re.sub(rf"\b{schema}\.{name}\b", view, sql, flags=re.IGNORECASE)
    return sql


@pytest.fixture
def conn(db):
    """The emulator connection, working in a fresh schema."""
    with in_fresh_schema(db, SCHEMA):
        yield db


def constraints(conn: psycopg.Connection, table: str) -> set[tuple[str, str, tuple[str, ...]]]:
    """(name, type, columns in key order) of `table`'s constraints, as the emulator's views show them."""
    rows = conn.execute(
        translated(
            "SELECT tc.constraint_name, tc.constraint_type, kcu.column_name "
            "FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu "
            "ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name "
            "AND kcu.table_name = tc.table_name "
            "WHERE tc.table_schema = %s AND tc.table_name = %s ORDER BY 1, kcu.ordinal_position"
        ),
        (SCHEMA, table),
    ).fetchall()
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for name, kind, column in rows:
        found[(name, kind)] = (*found.get((name, kind), ()), column)
    return {(name, kind, columns) for (name, kind), columns in found.items()}


def test_keys_are_recorded_and_not_enforced_and_not_null_is(conn, backend):
    conn.execute("CREATE TABLE parent (id INT PRIMARY KEY, code VARCHAR(8) UNIQUE, note VARCHAR(8) NOT NULL)")
    conn.execute(
        "CREATE TABLE child (id INT NOT NULL, parent_id INT REFERENCES parent (id), "
        "CONSTRAINT child_pk PRIMARY KEY (id), FOREIGN KEY (parent_id) REFERENCES parent) DISTSTYLE ALL"
    )
    conn.execute("INSERT INTO parent VALUES (1, 'a', 'x'), (1, 'a', 'y')")  # duplicate key and code: accepted
    conn.execute("INSERT INTO child VALUES (7, 999), (7, 999)")  # duplicate key, dangling reference: accepted
    assert conn.execute("SELECT count(*) FROM parent WHERE id = 1").fetchone() == (2,)
    assert conn.execute("SELECT count(*) FROM child WHERE id = 7").fetchone() == (2,)
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute("INSERT INTO parent (id, code) VALUES (2, 'b')")  # NOT NULL is enforced
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute("INSERT INTO parent (code, note) VALUES ('c', 'z')")  # a primary key column is NOT NULL
    assert constraints(conn, "parent") == {
        ("parent_pkey", "PRIMARY KEY", ("id",)),
        ("parent_code_key", "UNIQUE", ("code",)),
    }
    assert constraints(conn, "child") == {
        ("child_pk", "PRIMARY KEY", ("id",)),
        ("child_parent_id_fkey", "FOREIGN KEY", ("parent_id",)),
        ("child_parent_id_fkey1", "FOREIGN KEY", ("parent_id",)),
    }
    # PostgreSQL itself (asked behind the emulator, whose pg_constraint shows the recorded keys) holds no index and
    # no constraint for them: nothing it could enforce
    assert backend.execute(
        "SELECT count(*) FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class t ON t.oid = c.conrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = %s AND t.relname IN ('parent', 'child') AND c.contype IN ('p', 'u', 'f')",
        (SCHEMA,),
    ).fetchone() == (0,)
    assert backend.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s", (SCHEMA,)).fetchone() == (0,)


def test_the_amazon_providers_primary_key_lookup_finds_recorded_keys(conn, stack):
    """RedshiftSQLHook.get_table_primary_key's own query, with the catalog names replaced, over redshift_connector."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    class TranslatedHook(RedshiftSQLHook):
        def get_records(self, sql, parameters=None, **kwargs):
            return super().get_records(translated(sql), parameters, **kwargs)

    hook = TranslatedHook(redshift_conn_id="redshift")
    hook.run(
        [
            f"CREATE TABLE {SCHEMA}.users (userid INT4 NOT NULL, first_name VARCHAR(256), "
            "CONSTRAINT users_pkey PRIMARY KEY (userid))",
            f"CREATE TABLE {SCHEMA}.plays (user_id INT, session_id INT, item INT, PRIMARY KEY (user_id, session_id))",
            f"CREATE TABLE {SCHEMA}.keyless (a INT UNIQUE)",
        ]
    )
    assert hook.get_table_primary_key("users", SCHEMA) == ["userid"]
    assert sorted(hook.get_table_primary_key("plays", SCHEMA) or []) == ["session_id", "user_id"]
    assert hook.get_table_primary_key("keyless", SCHEMA) is None


def test_recording_is_transactional_and_follows_rename_and_drop(conn):
    with pytest.raises(psycopg.errors.DivisionByZero):
        with conn.transaction():
            conn.execute("CREATE TABLE gone (a INT PRIMARY KEY)")
            conn.execute("SELECT 1 / 0")
    assert conn.execute("SELECT to_regclass('gone')").fetchone() == (None,)
    conn.execute("CREATE TABLE t (a INT PRIMARY KEY, b INT UNIQUE, c INT)")
    conn.execute("ALTER TABLE t RENAME TO renamed")
    conn.execute("ALTER TABLE renamed RENAME COLUMN a TO key")
    assert constraints(conn, "renamed") == {("t_pkey", "PRIMARY KEY", ("key",)), ("t_b_key", "UNIQUE", ("b",))}
    conn.execute("ALTER TABLE renamed DROP COLUMN b")
    assert constraints(conn, "renamed") == {("t_pkey", "PRIMARY KEY", ("key",))}
    conn.execute("DROP TABLE renamed")
    conn.execute("CREATE TABLE renamed (key INT, c INT)")
    assert constraints(conn, "renamed") == set()


def test_alter_table_adds_and_drops_constraints_by_name(conn):
    conn.execute("CREATE TABLE dim (id INT NOT NULL, code INT)")
    conn.execute("CREATE TABLE fact (dim_id INT)")
    with pytest.raises(psycopg.errors.FeatureNotSupported):  # never a primary key on a nullable column
        conn.execute("ALTER TABLE dim ADD PRIMARY KEY (code)")
    conn.execute("ALTER TABLE dim ADD CONSTRAINT dim_pk PRIMARY KEY (id)")
    conn.execute("ALTER TABLE dim ADD UNIQUE (code)")
    conn.execute("ALTER TABLE fact ADD CONSTRAINT fact_dim FOREIGN KEY (dim_id) REFERENCES dim")
    assert constraints(conn, "fact") == {("fact_dim", "FOREIGN KEY", ("dim_id",))}
    conn.execute("INSERT INTO dim VALUES (1, 1), (1, 1)")
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):  # RESTRICT is the default
        conn.execute("ALTER TABLE dim DROP CONSTRAINT dim_pk")
    conn.execute("ALTER TABLE dim DROP CONSTRAINT dim_pk CASCADE")
    assert constraints(conn, "dim") == {("dim_code_key", "UNIQUE", ("code",))}
    assert constraints(conn, "fact") == set()
    with pytest.raises(psycopg.errors.UndefinedObject):
        conn.execute("ALTER TABLE dim DROP CONSTRAINT no_such_constraint")
    with pytest.raises(psycopg.errors.DuplicateObject):
        conn.execute("ALTER TABLE dim ADD CONSTRAINT dim_code_key UNIQUE (id)")


def test_temporary_tables_and_the_pg_constraint_view(conn):
    conn.execute("CREATE TEMP TABLE scratch (a INT PRIMARY KEY, b INT REFERENCES scratch (a))")
    conn.execute("INSERT INTO scratch VALUES (1, 5), (1, 6)")
    assert conn.execute("SELECT count(*) FROM scratch").fetchone() == (2,)
    rows = conn.execute(
        translated(
            "SELECT conname, contype, consrc FROM pg_catalog.pg_constraint "
            "WHERE conrelid = 'scratch'::regclass ORDER BY conname"
        )
    ).fetchall()
    assert rows == [
        ("scratch_b_fkey", "f", "FOREIGN KEY (b) REFERENCES scratch(a)"),
        ("scratch_pkey", "p", "PRIMARY KEY (a)"),
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE checked (a INT CHECK (a > 0))",
        "CREATE TABLE checked (a INT, CONSTRAINT positive CHECK (a > 0))",
    ],
)
def test_check_constraints_are_refused(conn, sql):
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="CHECK constraint is not supported"):
        conn.execute(sql)
    assert conn.execute("SELECT to_regclass('checked')").fetchone() == (None,)


def test_a_duplicate_key_loads_as_on_redshift_and_the_pipelines_own_path_never_makes_one(db):
    """The warehouse takes a duplicate user now; the dimension loads that the DAG runs refuse or replace it."""
    reset_schema(db)  # include/sql/create_tables.sql through the emulator: users has PRIMARY KEY (user_id)
    row = "SELECT 1 AS user_id, 'A' AS first_name, 'B' AS last_name, 'F' AS gender, 'free' AS level"
    merge = LoadDimensionOperator(task_id="m", table="users", sql=row, mode="merge", key="user_id")
    merge.execute(HOUR)
    merge.execute(HOUR)  # a rerun replaces the row
    assert db.execute("SELECT count(*), min(user_id), max(user_id) FROM users").fetchone() == (1, 1, 1)
    twice = f"{row} UNION ALL {row}"
    for mode in ("merge", "truncate-insert", "append"):
        with pytest.raises(DuplicateKeyError):
            LoadDimensionOperator(task_id=mode, table="users", sql=twice, mode=mode, key="user_id").execute(HOUR)
    assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)
    db.execute("INSERT INTO users VALUES (1, 'C', 'D', 'M', 'paid')")  # Redshift does not enforce the key
    assert db.execute("SELECT count(*) FROM users WHERE user_id = 1").fetchone() == (2,)
