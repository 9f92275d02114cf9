"""TRUNCATE commits the transaction it runs in, through the emulator as on Redshift.

https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html: "The TRUNCATE command commits the
transaction in which it is run; therefore, you can't roll back a TRUNCATE operation, and a TRUNCATE
command may commit other operations when it commits itself." On PostgreSQL alone a TRUNCATE rolls back,
so a load that empties a table with TRUNCATE and then fails would pass locally and lose the table's
rows on a cluster; with the emulator it loses them here too, where a test sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import psycopg2  # type: ignore[import-untyped]
import pytest

from sparkify.operators import LoadDimensionOperator
from sparkify.operators.load_dimension import DuplicateKeyError
from tests.support import connect_redshift_connector, task_context

pytestmark = pytest.mark.integration
TRUNCATE_DOC = "https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html"
HOUR = task_context("2018-11-15T03:00:00", "2018-11-15T04:00:00")
DUPLICATE_KEYS = "SELECT 1 AS user_id, 'A' AS name UNION ALL SELECT 1, 'B'"


@pytest.fixture
def tables(db) -> Iterator[Any]:
    """trunc_kept with two committed rows; trunc_made not there yet."""
    db.execute("DROP TABLE IF EXISTS trunc_kept")
    db.execute("DROP TABLE IF EXISTS trunc_made")
    db.execute("CREATE TABLE trunc_kept (user_id INTEGER, name VARCHAR(20))")
    db.execute("INSERT INTO trunc_kept VALUES (1, 'Old'), (2, 'Old')")
    yield db
    db.execute("DROP TABLE IF EXISTS trunc_kept")
    db.execute("DROP TABLE IF EXISTS trunc_made")


def _psycopg2(stack, warehouse_dsn) -> tuple[Any, Callable[[str], None], Callable[[], bool]]:
    conn = psycopg2.connect(warehouse_dsn)  # BEGIN before the first statement: a transaction block
    cursor = conn.cursor()
    return conn, cursor.execute, lambda: conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE


def _psycopg(binary: bool) -> Callable[..., tuple[Any, Callable[[str], None], Callable[[], bool]]]:
    def connect(stack, warehouse_dsn):
        conn = psycopg.connect(warehouse_dsn)
        cursor = conn.cursor()

        def run(sql: str) -> None:
            cursor.execute(sql, binary=binary)  # binary: the extended protocol, else the simple one

        return conn, run, lambda: conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    return connect


def _redshift_connector(stack, warehouse_dsn) -> tuple[Any, Callable[[str], None], Callable[[], bool]]:
    conn = connect_redshift_connector(stack)
    cursor = conn.cursor()

    def run(sql: str) -> None:
        cursor.execute(sql)

    return conn, run, lambda: conn.in_transaction


CLIENTS = {
    "psycopg2-simple": _psycopg2,
    "psycopg-simple": _psycopg(binary=False),
    "psycopg-extended": _psycopg(binary=True),
    "redshift_connector-extended": _redshift_connector,
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_truncate_commits_what_came_before_it_and_itself(client, stack, warehouse_dsn, tables):
    conn, run, in_transaction = CLIENTS[client](stack, warehouse_dsn)
    try:
        run("INSERT INTO trunc_kept VALUES (3, 'New')")
        run("CREATE TABLE trunc_made (id INTEGER)")
        assert in_transaction()
        run("TRUNCATE trunc_kept")
        assert not in_transaction()  # the block ended with the TRUNCATE, as Redshift reports it
        conn.rollback()  # no transaction: a warning at most, never an error
    finally:
        conn.close()
    assert tables.execute("SELECT count(*) FROM trunc_kept").fetchone() == (0,)
    assert tables.execute("SELECT count(*) FROM trunc_made").fetchone() == (0,)  # the CREATE was committed


def test_a_rollback_after_truncate_warns_that_no_transaction_is_in_progress(stack, warehouse_dsn, tables):
    """The page's example: begin; truncate; rollback; the table stays empty."""
    conn = psycopg2.connect(warehouse_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("TRUNCATE trunc_kept")
            cursor.execute("ROLLBACK")
            assert cursor.statusmessage == "ROLLBACK"
            cursor.execute("SELECT count(*) FROM trunc_kept")
            assert cursor.fetchone() == (0,)
        assert any("there is no transaction in progress" in notice for notice in conn.notices)
    finally:
        conn.close()


def test_a_truncate_in_a_multi_statement_query_commits_at_once(warehouse_dsn, tables):
    """Each TRUNCATE of a simple Query commits as it ends: a later statement's failure cannot undo it."""
    conn = psycopg2.connect(warehouse_dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO trunc_kept VALUES (3, 'New')")
            with pytest.raises(psycopg2.errors.DivisionByZero):
                cursor.execute("TRUNCATE trunc_kept; INSERT INTO trunc_kept VALUES (1 / 0, 'Bad')")
        conn.rollback()
        assert tables.execute("SELECT count(*) FROM trunc_kept").fetchone() == (0,)
        tables.execute("INSERT INTO trunc_kept VALUES (5, 'Kept')")
        with conn.cursor() as cursor:  # as in one Query, the statements after a failed one do not run
            with pytest.raises(psycopg2.errors.DivisionByZero):
                cursor.execute("INSERT INTO trunc_kept VALUES (4, 'x'); SELECT 1 / 0; TRUNCATE trunc_kept")
        conn.rollback()
    finally:
        conn.close()
    assert tables.execute("SELECT user_id FROM trunc_kept").fetchall() == [(5,)]


def test_a_truncate_in_a_failed_block_fails_and_commits_nothing(warehouse_dsn, tables):
    with psycopg.connect(warehouse_dsn) as conn:
        conn.execute("INSERT INTO trunc_kept VALUES (3, 'New')")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1 / 0")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("TRUNCATE trunc_kept")
        conn.rollback()
    assert tables.execute("SELECT count(*) FROM trunc_kept").fetchone() == (2,)


class TruncatingLoadDimension(LoadDimensionOperator):
    """A dimension load that empties the table with TRUNCATE where the real one uses DELETE."""

    def build_statements(self) -> list[str]:
        return [
            "TRUNCATE" + statement.removeprefix("DELETE FROM") if statement.startswith("DELETE FROM") else statement
            for statement in super().build_statements()
        ]


def test_a_load_that_truncates_loses_the_table_when_it_fails_and_the_real_one_does_not(tables):
    """The operator's own check fails the load after its INSERT (two rows for one key): the transaction
    rolls back. With DELETE the table is as before; with TRUNCATE it is empty, as on a cluster."""
    for operator_class, expected in ((LoadDimensionOperator, 2), (TruncatingLoadDimension, 0)):
        operator = operator_class(
            task_id="load_trunc_kept", table="trunc_kept", sql=DUPLICATE_KEYS, mode="truncate-insert", key="user_id"
        )
        with pytest.raises(DuplicateKeyError):
            operator.execute(HOUR)
        assert tables.execute("SELECT count(*) FROM trunc_kept").fetchone() == (expected,), operator_class.__name__


def test_a_truncate_in_a_psycopg_pipeline_commits_at_once(warehouse_dsn, tables):
    """One batch of the extended protocol (no Sync between the statements): the TRUNCATE still commits
    the block before it and itself, and the failure after it undoes neither."""
    with psycopg.connect(warehouse_dsn) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            with conn.pipeline(), conn.cursor() as cursor:
                cursor.execute("CREATE TABLE trunc_made (id INTEGER)")
                cursor.execute("TRUNCATE trunc_kept")
                cursor.execute("INSERT INTO trunc_kept VALUES (1 / 0, 'Bad')")
        conn.rollback()
    assert tables.execute("SELECT count(*) FROM trunc_kept").fetchone() == (0,)
    assert tables.execute("SELECT count(*) FROM trunc_made").fetchone() == (0,)
