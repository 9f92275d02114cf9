"""The warehouse connection (type `redshift`): its provider hook, and transactions on it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from typing import Any


def warehouse_hook(conn_id: str, application_name: str = "sparkify", **hook_params: Any):
    """The Amazon provider's RedshiftSQLHook for the warehouse connection `conn_id`, its sessions named
    `application_name` (sparkify.redshift_hook: naming them is also what keeps connecting cheap)."""
    from sparkify.redshift_hook import NamedSessionsRedshiftSQLHook

    return NamedSessionsRedshiftSQLHook(redshift_conn_id=conn_id, application_name=application_name, **hook_params)


@contextmanager
def transaction(hook) -> Iterator[Any]:
    """A cursor whose statements commit together, or roll back together on any error."""
    with closing(hook.get_conn()) as conn:
        conn.autocommit = False
        cursor = conn.cursor()
        cursor.paramstyle = "pyformat"  # redshift_connector's default is %s placeholders
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
