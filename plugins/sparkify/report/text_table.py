"""Query results as plain-text tables for the terminal and task logs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

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
    """Columns padded to their widest cell; numbers right-aligned."""
    rows = [list(row) for row in rows]
    cells = [[format_value(value) for value in row] for row in rows]
    widths = [max([len(column), *(len(row[i]) for row in cells)]) for i, column in enumerate(columns)]
    numeric = [bool(rows) and all(is_number(row[i]) or row[i] is None for row in rows) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric)
        ).rstrip()

    out = [line(list(columns)), line(["-" * width for width in widths])]
    out += [line(row) for row in cells] or ["(no rows)"]
    return "\n".join(out)


def format_result(result: QueryResult) -> str:
    title = result.query.title
    return f"{title}\n{'=' * len(title)}\n{format_table(result.columns, result.rows)}"


def format_results(results: Iterable[QueryResult]) -> str:
    return "\n\n".join(format_result(result) for result in results)
