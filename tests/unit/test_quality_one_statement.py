"""The quality checks' queries as one SELECT of scalar subqueries, and when they cannot share one."""

from __future__ import annotations

from datetime import datetime

from sparkify.operators.data_quality import _split_row, one_statement
from sparkify.sql_check import SqlCheck

WINDOW = {"window_start": datetime(2018, 11, 15, 7), "window_end": datetime(2018, 11, 15, 8)}


def check(name: str, sql: str, expected_sql: str | None = None, parameters: dict | None = None) -> SqlCheck:
    mapping = {"name": name, "sql": sql, "expected": "== 0" if expected_sql is None else "== expected"}
    if expected_sql:
        mapping["expected_sql"] = expected_sql
    if parameters:
        mapping["parameters"] = parameters
    return SqlCheck.from_mapping(mapping)


def test_every_query_is_one_subquery_in_order_with_the_windows_parameters():
    checks = [
        check("a", "SELECT COUNT(*) FROM users WHERE level IS NULL;"),
        check("b", "SELECT COUNT(*) FROM songplays WHERE start_time >= %(window_start)s", "SELECT 3 -- the source"),
    ]
    statement, parameters = one_statement(checks, WINDOW)
    assert statement == (
        "SELECT (\nSELECT COUNT(*) FROM users WHERE level IS NULL\n),\n"
        "(\nSELECT COUNT(*) FROM songplays WHERE start_time >= %(window_start)s\n),\n(\nSELECT 3 -- the source\n)"
    )
    assert parameters == WINDOW
    assert _split_row(checks, (0, 5, 3)) == [(0, None), (5, 3)]


def test_checks_that_give_one_parameter_two_values_run_one_by_one():
    checks = [
        check("a", "SELECT COUNT(*) FROM t WHERE x = %(level)s", parameters={"level": "free"}),
        check("b", "SELECT COUNT(*) FROM t WHERE x = %(level)s", parameters={"level": "paid"}),
    ]
    assert one_statement(checks, WINDOW) is None
    same = [checks[0], check("c", "SELECT COUNT(*) FROM u WHERE x = %(level)s", parameters={"level": "free"})]
    assert one_statement(same, WINDOW) is not None


def test_a_literal_percent_sign_keeps_the_checks_apart():
    """Bound together, '%' in a LIKE would be read as a placeholder; alone, a query without %( is sent unbound."""
    checks = [check("a", "SELECT COUNT(*) FROM songs WHERE title LIKE '%!%'")]
    assert one_statement(checks, WINDOW) is None
