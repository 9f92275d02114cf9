"""Redshift's planner trusts the keys it does not enforce; so does the emulator, and the uniqueness checks still count.

https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html: PRIMARY KEY and UNIQUE are
informational, the planner uses them, and "a SELECT DISTINCT query might return duplicate rows if the
primary key is not unique". The emulator takes the rows as distinct wherever a query over one table
selects all of a declared key's columns, so a check that counted distinct key values would find nothing.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator

from sparkify.operators.publish import Publication
from sparkify.quality_config import load_quality_checks
from tests.support import PROJECT_ROOT, SQL_DIR, in_fresh_schema, reset_schema

pytestmark = pytest.mark.integration
SCHEMA = "trusted_keys_test"
CHECKS_FILE = PROJECT_ROOT / "include" / "quality_checks.yaml"
WINDOW = {"window_start": datetime(2018, 11, 15, 3), "window_end": datetime(2018, 11, 15, 4)}
# As sparkify_etl publishes them: a fact by its window, dimensions by their keys.
SHADOWS = (
    Publication("songplays", "songplays_shadow", window_column="start_time"),
    Publication("users", "users_shadow", key="user_id"),
    Publication("time", "time_shadow", key="start_time", key_in_window=True),
)


@pytest.fixture
def conn(db):
    """The emulator connection, working in a fresh schema."""
    with in_fresh_schema(db, SCHEMA):
        yield db


def rows(conn, sql: str, parameters=None) -> list[tuple]:
    return sorted(conn.execute(sql, parameters).fetchall())


def test_select_distinct_over_a_declared_key_returns_the_duplicate_rows(conn):
    conn.execute("CREATE TABLE keyed (id INT PRIMARY KEY, name VARCHAR(8))")
    conn.execute("CREATE TABLE pair (a INT, b INT, note VARCHAR(8), UNIQUE (a, b))")
    conn.execute("CREATE TABLE unkeyed (id INT NOT NULL, name VARCHAR(8))")
    for table in ("keyed", "unkeyed"):
        conn.execute(f"INSERT INTO {table} VALUES (1, 'a'), (1, 'a'), (2, 'b')")
    conn.execute("INSERT INTO pair VALUES (1, 1, 'x'), (1, 1, 'x')")

    # All of a key's columns selected: the rows are taken as distinct already.
    assert rows(conn, "SELECT DISTINCT id, name FROM keyed") == [(1, "a"), (1, "a"), (2, "b")]
    assert rows(conn, "SELECT DISTINCT k.id FROM keyed k WHERE k.id >= %s ORDER BY 1", (1,)) == [(1,), (1,), (2,)]
    assert rows(conn, "SELECT TOP 5 DISTINCT name, id FROM keyed ORDER BY id") == [("a", 1), ("a", 1), ("b", 2)]
    assert rows(conn, "SELECT DISTINCT b, a FROM pair") == [(1, 1), (1, 1)]
    assert conn.execute("SELECT COUNT(DISTINCT id), COUNT(DISTINCT(name)) FROM keyed").fetchone() == (3, 2)
    # Part of a key, or no key: DISTINCT is DISTINCT.
    assert rows(conn, "SELECT DISTINCT name FROM keyed") == [("a",), ("b",)]
    assert rows(conn, "SELECT DISTINCT a FROM pair") == [(1,)]
    assert conn.execute("SELECT COUNT(DISTINCT a) FROM pair").fetchone() == (1,)
    assert rows(conn, "SELECT DISTINCT id, name FROM unkeyed") == [(1, "a"), (2, "b")]
    assert conn.execute("SELECT COUNT(DISTINCT id) FROM unkeyed").fetchone() == (2,)
    # A dropped key is no longer trusted.
    name = conn.execute(
        "SELECT constraint_name FROM information_schema.table_constraints "
        "WHERE table_schema = current_schema() AND table_name = 'keyed' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()[0]
    conn.execute(f"ALTER TABLE keyed DROP CONSTRAINT {name}")
    assert rows(conn, "SELECT DISTINCT id, name FROM keyed") == [(1, "a"), (2, "b")]


def test_a_key_declared_in_the_open_transaction_is_trusted_by_its_own_queries(conn):
    with conn.transaction():
        conn.execute("CREATE TABLE fresh (id INT NOT NULL, PRIMARY KEY (id))")
        conn.execute("INSERT INTO fresh VALUES (7), (7)")
        assert rows(conn, "SELECT DISTINCT id FROM fresh") == [(7,), (7,)]
        conn.execute("CREATE TEMP TABLE scratch (id INT UNIQUE)")
        conn.execute("INSERT INTO scratch VALUES (3), (3)")
        assert rows(conn, "SELECT DISTINCT id FROM scratch") == [(3,), (3,)]


@pytest.fixture
def keyed_star(conn):
    """The warehouse DDL in the schema, with shadows that declare the published tables' keys too (the DAG's
    are made with LIKE, which copies no key: stricter than the pipeline)."""
    reset_schema(conn)
    for publication in SHADOWS:
        table, shadow = publication.table, publication.shadow
        key = publication.key or ("songplay_id",)
        conn.execute(f"CREATE TABLE {shadow} (LIKE {table})")
        conn.execute(f"ALTER TABLE {shadow} ADD PRIMARY KEY ({', '.join(key)})")
    return conn


def unique_checks(section: str) -> dict:
    checks = load_quality_checks(
        CHECKS_FILE, SQL_DIR, SQL_DIR / "create_tables.sql", SHADOWS if section == "checks" else (), section
    )
    return {check.name: check for check in checks if check.kind == "unique_check"}


def songplay(songplay_id: str, start_time: str) -> str:
    return f"('{songplay_id}', '{start_time}', 1, 'free', NULL, NULL, 1, NULL, NULL)"


def time_row(start_time: str) -> str:
    return f"('{start_time}', 3, 15, 46, 11, 2018, 4)"


def test_each_uniqueness_check_counts_duplicate_keys_of_tables_that_declare_them(keyed_star):
    conn = keyed_star
    inside, outside = "2018-11-15 03:10:00", "2018-11-14 03:10:00"
    # The hourly checks: the fact's window in its shadow, the users the run merges, and time's window after
    # the merge (published rows the shadow does not replace, and the shadow).
    conn.execute(
        "INSERT INTO songplays_shadow VALUES "
        + ", ".join([songplay("dup", inside), songplay("dup", inside), songplay("once", inside)])
    )
    conn.execute("INSERT INTO users_shadow VALUES (7, 'A', 'B', 'F', 'free'), (7, 'A', 'B', 'F', 'free')")
    conn.execute(f"INSERT INTO time_shadow VALUES {time_row(inside)}, {time_row(inside)}")
    conn.execute(f"INSERT INTO time VALUES {time_row('2018-11-15 03:20:00')}, {time_row('2018-11-15 03:20:00')}")
    # The daily audit: the published tables whole (a songplay_id in two windows).
    conn.execute("INSERT INTO songplays VALUES " + ", ".join([songplay("twice", inside), songplay("twice", outside)]))
    conn.execute("INSERT INTO users VALUES (8, 'C', 'D', 'M', 'paid'), (8, 'C', 'D', 'M', 'paid')")
    expected = {  # rows minus distinct values, counted from the rows inserted above
        "songplays_songplay_id_unique": 1,
        "users_user_id_unique": 1,
        "time_start_time_unique": 2,
        "audit_songplays_songplay_id_unique": 1,
        "audit_users_user_id_unique": 1,
    }
    checks = {**unique_checks("checks"), **unique_checks("audit_checks")}
    assert set(checks) == set(expected)
    observed = {name: conn.execute(check.sql, WINDOW).fetchone()[0] for name, check in checks.items()}
    assert observed == expected

    # common-sql's template, which the checks compiled to before: blind to a declared key's duplicates.
    template = SQLColumnCheckOperator.column_checks["unique_check"].format(column='"user_id"')
    assert conn.execute(f'SELECT {template} FROM "users"').fetchone() == (0,)
