"""The warehouse connection: which hook serves it, and transactions on it.

A connection of type `redshift` is a real cluster (RedshiftSQLHook); any other
type (the local stack uses `postgres`) is PostgreSQL standing in for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from typing import Any

REDSHIFT = "redshift"
POSTGRES = "postgres"


def warehouse_dialect(conn_id: str) -> str:
    from airflow.sdk import Connection

    return REDSHIFT if Connection.get(conn_id).conn_type == REDSHIFT else POSTGRES


def warehouse_hook(conn_id: str):
    """The provider hook for the warehouse connection `conn_id`."""
    if warehouse_dialect(conn_id) == REDSHIFT:
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

        return RedshiftSQLHook(redshift_conn_id=conn_id)
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=conn_id)


@contextmanager
def transaction(hook) -> Iterator[Any]:
    """A cursor whose statements commit together, or roll back together on any error."""
    with closing(hook.get_conn()) as conn:
        if hasattr(conn, "autocommit"):
            conn.autocommit = False
        cursor = conn.cursor()
        if hasattr(cursor, "paramstyle"):  # redshift_connector defaults to %s placeholders
            cursor.paramstyle = "pyformat"
        try:
            yield cursor
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            cursor.close()


def execute(cursor: Any, sql: str, parameters: Mapping[str, Any] | None = None) -> int:
    """Run one statement; %(name)s placeholders are bound only when the SQL uses them."""
    if parameters and "%(" in sql:
        cursor.execute(sql, dict(parameters))
    else:
        cursor.execute(sql)
    return cursor.rowcount
