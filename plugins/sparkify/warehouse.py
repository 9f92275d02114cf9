"""The warehouse connection (type `redshift`): its provider hook, and transactions on it.

Redshift runs every transaction at SERIALIZABLE isolation: one that cannot be serialized with a
concurrent one fails with error 1023 and is rolled back. `run_transaction` retries it (bounded,
jittered backoff of about a second), logging and counting each failure with its table.
https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation.html
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sparkify.identifiers import quote_table
from sparkify.retry_policy import (
    SERIALIZATION_ATTEMPTS,
    SerializationFailure,
    serialization_backoff,
    serialization_failure,
)

T = TypeVar("T")
log = logging.getLogger(__name__)


def warehouse_hook(conn_id: str, application_name: str = "sparkify", **hook_params: Any):
    """The Amazon provider's RedshiftSQLHook for the warehouse connection `conn_id`, its sessions named
    `application_name` (sparkify.redshift_hook: naming them is also what keeps connecting cheap)."""
    from sparkify.redshift_hook import NamedSessionsRedshiftSQLHook

    return NamedSessionsRedshiftSQLHook(redshift_conn_id=conn_id, application_name=application_name, **hook_params)


@contextmanager
def transaction(hook, on_rollback: Callable[[Any, BaseException], None] | None = None) -> Iterator[Any]:
    """A cursor whose statements commit together, or roll back together on any error.

    `on_rollback(cursor, error)` runs after a rollback, in the same session (for what only it can
    read, such as `pg_last_copy_id()`); it may raise an error in place of `error`."""
    with closing(hook.get_conn()) as conn:
        conn.autocommit = False
        cursor = conn.cursor()
        cursor.paramstyle = "pyformat"  # redshift_connector's default is %s placeholders
        try:
            yield cursor
            conn.commit()
        except BaseException as error:
            conn.rollback()
            if on_rollback is not None:
                on_rollback(cursor, error)
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


@dataclass
class SerializationRetries:
    """The serialization failures a task met and retried: one entry per failure, the table it named."""

    tables: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.tables)

    def summary(self) -> str:
        by_table = {t: self.tables.count(t) for t in dict.fromkeys(self.tables)}
        return f"{self.count} serialization failure(s) retried: " + (
            ", ".join(f"{n} on {t}" for t, n in by_table.items()) or "none"
        )


def retry_serialization(
    work: Callable[[], T],
    what: str,
    *,
    hook: Any = None,
    retries: SerializationRetries | None = None,
    attempts: int = SERIALIZATION_ATTEMPTS,
    logger: Any = None,  # a logging.Logger or a task's self.log; default: this module's
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`work()`, run again after a serialization failure (Redshift's 1023, or a deadlock) up to `attempts`
    times in all, with a jittered backoff of about 1, 2, 4... seconds; the last failure is raised (a
    transient error: Airflow retries the task). Any other error is raised at once. `work` must be a whole
    transaction: a failure has rolled all of it back. Each failure is logged with its table and attempt
    (the table's name is read through `hook` when one is given) and counted in `retries`."""
    logger = logger or log
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as error:
            failure = serialization_failure(error)
            if failure is None:
                raise
            table = _table_name(hook, failure)
            if retries is not None:
                retries.tables.append(table)
            if attempt == attempts:
                logger.error(
                    "Serialization failure on table %s in %s, attempt %d of %d: giving up (%s)",
                    table, what, attempt, attempts, failure.message,
                )  # fmt: skip
                raise
            delay = serialization_backoff(attempt)
            logger.warning(
                "Serialization failure on table %s in %s, attempt %d of %d: retrying in %.1f s (%s)",
                table, what, attempt, attempts, delay, failure.message,
            )  # fmt: skip
            sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises


def run_transaction(
    hook: Any,
    work: Callable[[Any], T],
    what: str,
    *,
    retries: SerializationRetries | None = None,
    attempts: int = SERIALIZATION_ATTEMPTS,
    logger: Any = None,  # a logging.Logger or a task's self.log; default: this module's
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`work(cursor)` in one `transaction(hook)`, the whole transaction retried after a serialization
    failure (`retry_serialization`). Returns what `work` returns."""

    def attempt() -> T:
        with transaction(hook) as cursor:
            return work(cursor)

    return retry_serialization(attempt, what, hook=hook, retries=retries, attempts=attempts, logger=logger, sleep=sleep)


def _table_name(hook: Any, failure: SerializationFailure) -> str:
    """The name of the table a failure names (its id when the name cannot be read), or "unknown"."""
    if failure.table_id is None:
        return "unknown"
    if hook is not None:
        try:
            row = hook.get_first(
                "SELECT nspname || '.' || relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.oid = %s",
                parameters=(failure.table_id,),
            )
            if row:
                return str(row[0])
        except Exception:  # best effort: the id still names the table
            log.debug("could not name table %s", failure.table_id, exc_info=True)
    return f"id {failure.table_id}"


# Rows per INSERT (the ledger, the listing, the quality results). A driver's executemany is one round trip
# per row (redshift_connector's is), which for 20,000 song files is 20,000 round trips; multi-row INSERTs of
# this many rows (at most 10 parameters a row here, far below the drivers' 32,767 a statement) make it 20.
INSERT_BATCH_ROWS = 1000


def insert_in_batches(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT `rows` (values of `columns`, trusted names) into `table`, INSERT_BATCH_ROWS per multi-row INSERT."""
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), INSERT_BATCH_ROWS):
        batch = rows[start : start + INSERT_BATCH_ROWS]
        cursor.execute(
            f"INSERT INTO {quote_table(table)} ({', '.join(columns)}) VALUES " + ", ".join([placeholders] * len(batch)),
            [value for row in batch for value in row],
        )
