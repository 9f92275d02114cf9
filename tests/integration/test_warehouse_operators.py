"""The fact, dimension and quality operators, and the derived schema, on the local warehouse."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from sparkify.operators import LoadDimensionOperator, LoadFactOperator
from sparkify.operators.load_dimension import DuplicateKeyError
from tests.support import SQL_DIR, render_sql, reset_schema, task_context

pytestmark = pytest.mark.integration
HOUR = task_context("2018-11-15T03:00:00", "2018-11-15T04:00:00")
PG_TYPES = {
    "VARCHAR": "character varying",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE PRECISION": "double precision",
    "TIMESTAMP": "timestamp without time zone",
    "BOOLEAN": "boolean",
}


@pytest.fixture
def schema(db):
    reset_schema(db)
    return db


def redshift_columns() -> dict[str, list[tuple]]:
    """Columns per table, parsed from the Redshift DDL."""
    tables = {}
    for name, body in re.findall(
        r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\)", (SQL_DIR / "create_tables.sql").read_text(), re.S
    ):
        columns = []
        for line in body.strip().splitlines():
            match = re.match(
                r"\s*(\w+)\s+(VARCHAR|INTEGER|BIGINT|DOUBLE PRECISION|TIMESTAMP|BOOLEAN)(?:\((\d+)\))?", line
            )
            if match and match.group(1) != "PRIMARY":
                columns.append(
                    (match.group(1), PG_TYPES[match.group(2)], int(match.group(3)) if match.group(3) else None)
                )
        tables[name] = columns
    return tables


def test_local_schema_has_the_columns_and_types_of_the_redshift_ddl(schema):
    expected = redshift_columns()
    assert len(expected) == 14  # the DDL's tables, kept_failed_runs included
    for table, columns in expected.items():
        actual = schema.execute(
            "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        assert actual == columns, table


def insert_events(db, rows):
    db.cursor().executemany(
        "INSERT INTO staging_events (page, userid, sessionid, iteminsession, ts, level, firstname) "
        "VALUES ('NextSong', %s, %s, %s, %s, %s, %s)",
        rows,
    )


def test_fact_load_replaces_only_its_window_and_reruns_are_identical(schema):
    insert_events(
        schema,
        [
            (1, 10, 0, datetime(2018, 11, 15, 2, 59, 59), "free", "A"),
            (1, 10, 1, datetime(2018, 11, 15, 3, 0, 0), "free", "A"),
            (2, 11, 0, datetime(2018, 11, 15, 3, 59, 59, 999000), "paid", "B"),
            (None, 12, 0, datetime(2018, 11, 15, 3, 30), "free", None),
            (3, 13, 0, datetime(2018, 11, 15, 4, 0, 0), "paid", "C"),
        ],
    )
    schema.execute("INSERT INTO songplays (songplay_id, start_time, user_id) VALUES ('outside', '2018-11-15 05:00', 9)")
    fact = LoadFactOperator(
        task_id="f",
        table="songplays",
        sql=render_sql("songplays_select.sql"),
        skipped_rows_sql=render_sql("songplays_skipped.sql"),
    )
    assert fact.execute(HOUR) == {"inserted": 2, "deleted": 0, "skipped": 1}
    first = schema.execute("SELECT * FROM songplays ORDER BY songplay_id").fetchall()
    assert fact.execute(HOUR) == {"inserted": 2, "deleted": 2, "skipped": 1}
    assert schema.execute("SELECT * FROM songplays ORDER BY songplay_id").fetchall() == first
    assert {r[2] for r in first} == {1, 2, 9}


def test_failed_fact_load_changes_nothing(schema):
    schema.execute("INSERT INTO songplays (songplay_id, start_time, user_id) VALUES ('kept', '2018-11-15 03:10', 9)")
    fact = LoadFactOperator(
        task_id="f", table="songplays", sql="SELECT 1/0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    )
    with pytest.raises(Exception, match="division by zero"):
        fact.execute(HOUR)
    assert schema.execute("SELECT songplay_id FROM songplays").fetchall() == [("kept",)]


def test_users_follow_the_latest_event_whatever_the_run_order(schema):
    later = task_context("2018-11-15T04:00:00", "2018-11-15T05:00:00")
    insert_events(
        schema,
        [
            (1, 10, 0, datetime(2018, 11, 15, 3, 10), "free", "Early"),
            (1, 10, 5, datetime(2018, 11, 15, 4, 10), "paid", "Late"),
        ],
    )
    fact = LoadFactOperator(task_id="f", table="songplays", sql=render_sql("songplays_select.sql"))
    users = LoadDimensionOperator(
        task_id="u", table="users", sql=render_sql("users_select.sql"), mode="merge", key="user_id"
    )
    for context in (later, HOUR):  # the later hour completes first
        fact.execute(context)
        users.execute(context)
    assert schema.execute("SELECT user_id, first_name, level FROM users").fetchall() == [(1, "Late", "paid")]


def test_dimension_modes(schema):
    sql = "SELECT 1 AS user_id, 'A' AS first_name, 'B' AS last_name, 'F' AS gender, 'free' AS level"
    schema.execute("INSERT INTO users VALUES (1, 'Old', 'Old', 'M', 'paid'), (2, 'Kept', 'K', 'F', 'free')")
    LoadDimensionOperator(task_id="m", table="users", sql=sql, mode="merge", key="user_id").execute(HOUR)
    assert schema.execute("SELECT * FROM users ORDER BY user_id").fetchall() == [
        (1, "A", "B", "F", "free"),
        (2, "Kept", "K", "F", "free"),
    ]
    LoadDimensionOperator(task_id="t", table="users", sql=sql, mode="truncate-insert").execute(HOUR)
    assert schema.execute("SELECT user_id FROM users").fetchall() == [(1,)]
    # Redshift does not enforce the primary key (t_Defining_constraints.html): the operator's key does.
    with pytest.raises(DuplicateKeyError, match=r"user_id.*\(1,\)"):
        LoadDimensionOperator(task_id="a", table="users", sql=sql, mode="append", key="user_id").execute(HOUR)
    assert schema.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1
    LoadDimensionOperator(task_id="a", table="users", sql=sql, mode="append").execute(HOUR)
    assert schema.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 2  # loaded twice, as on a cluster


def test_merge_refuses_a_select_with_duplicate_keys_and_changes_nothing(schema):
    schema.execute("INSERT INTO users VALUES (1, 'Old', 'Old', 'M', 'paid')")
    sql = "SELECT 1 AS user_id, 'A' AS f, 'B' AS l, 'F' AS g, 'free' AS v UNION ALL SELECT 1, 'C', 'D', 'M', 'paid'"
    with pytest.raises(DuplicateKeyError, match=r"user_id.*\(1,\)"):
        LoadDimensionOperator(task_id="m", table="users", sql=sql, mode="merge", key="user_id").execute(HOUR)
    assert schema.execute("SELECT first_name FROM users").fetchall() == [("Old",)]


def test_truncate_insert_with_a_key_refuses_duplicate_keys_in_a_table_without_a_primary_key(schema):
    """The DAG's dimension shadows are made with LIKE, so they have no primary key: the operator checks."""
    schema.execute('DROP TABLE IF EXISTS "users_shadow"')
    schema.execute('CREATE TABLE "users_shadow" (LIKE "users")')
    schema.execute("INSERT INTO users_shadow VALUES (1, 'Old', 'Old', 'M', 'paid')")
    sql = "SELECT 1 AS user_id, 'A' AS f, 'B' AS l, 'F' AS g, 'free' AS v UNION ALL SELECT 1, 'C', 'D', 'M', 'paid'"
    with pytest.raises(DuplicateKeyError, match=r"user_id.*\(1,\)"):
        LoadDimensionOperator(
            task_id="t", table="users_shadow", sql=sql, mode="truncate-insert", key="user_id"
        ).execute(HOUR)
    assert schema.execute("SELECT first_name FROM users_shadow").fetchall() == [("Old",)]
    schema.execute('DROP TABLE "users_shadow"')
