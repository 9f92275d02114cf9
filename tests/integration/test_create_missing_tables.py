"""create_tables runs the DDL only when one of its tables is missing, through the real hook and emulator."""

from __future__ import annotations

import pytest

from sparkify.ddl import create_missing_tables, table_columns
from tests.support import SQL_DIR, reset_schema

pytestmark = pytest.mark.integration

DDL = (SQL_DIR / "create_tables.sql").read_text()


@pytest.fixture
def hook(stack):
    """RedshiftSQLHook on the emulator, counting the scripts it is asked to run."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    class CountingHook(RedshiftSQLHook):
        scripts = 0

        def run(self, *args, **kwargs):
            CountingHook.scripts += 1
            return super().run(*args, **kwargs)

    return CountingHook(redshift_conn_id="redshift")


def tables(db) -> set[str]:
    return {name for (name,) in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}


def test_every_table_present_means_no_ddl(db, hook):
    reset_schema(db)
    assert create_missing_tables(hook, DDL) == []
    assert hook.scripts == 0


def test_a_missing_table_is_created_with_the_rest_left_as_they_are(db, hook):
    reset_schema(db)
    db.execute("INSERT INTO users (user_id, first_name) VALUES (7, 'Kept')")
    db.execute("DROP TABLE time")

    assert create_missing_tables(hook, DDL) == ["time"]

    assert hook.scripts == 1 and set(table_columns(DDL)) <= tables(db)
    assert db.execute("SELECT first_name FROM users WHERE user_id = 7").fetchone() == ("Kept",)
    assert db.execute("SELECT count(*) FROM time").fetchone() == (0,)


def test_an_empty_warehouse_gets_every_table(db, hook):
    reset_schema(db)
    for table in table_columns(DDL):
        db.execute(f'DROP TABLE "{table}"')

    assert create_missing_tables(hook, DDL) == sorted(table_columns(DDL))
    assert set(table_columns(DDL)) <= tables(db)
    assert create_missing_tables(hook, DDL) == []  # and the next run finds them
