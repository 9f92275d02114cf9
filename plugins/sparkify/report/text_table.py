"""Query results as plain-text tables for the terminal and task logs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from tabulate import tabulate

from sparkify.report.analytics_queries import QueryResult


def is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def format_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """tabulate's "simple" table: numbers right-aligned, (no rows) under the header of an empty result."""
    rows = [list(row) for row in rows]
    numeric = [bool(rows) and all(is_number(row[i]) or row[i] is None for row in rows) for i in range(len(columns))]
    table = tabulate(
        [[format_value(value) for value in row] for row in rows] or [["" for _ in columns]],
        headers=list(columns),
        tablefmt="simple",
        disable_numparse=True,
        colalign=["right" if right else "left" for right in numeric],
    )
    lines = [line.rstrip() for line in table.splitlines()]
    return "\n".join(lines if rows else [*lines[:2], "(no rows)"])


def format_result(result: QueryResult) -> str:
    title = result.query.title
    return f"{title}\n{'=' * len(title)}\n{format_table(result.columns, result.rows)}"


def format_results(results: Iterable[QueryResult]) -> str:
    return "\n\n".join(format_result(result) for result in results)
