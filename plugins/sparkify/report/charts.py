"""One matplotlib chart per query result, as PNG bytes.

Figures are made with `matplotlib.figure.Figure`, not pyplot, so no GUI backend or
global state is involved and tasks may draw in parallel.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from sparkify.report.analytics_queries import QueryResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BAR_COLOR = "#1f6f8b"


def chart_png(result: QueryResult) -> bytes | None:
    """The result's chart, or None when its query asks for none or it has no rows."""
    figure = chart_figure(result)
    if figure is None:
        return None
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def chart_figure(result: QueryResult) -> Figure | None:
    """The result's chart as a matplotlib Figure, or None (see chart_png)."""
    query = result.query
    if query.chart == "none" or not result.rows:
        return None
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    whole = _whole_values(result)  # counts: ticks at 0, 1, 2 …, never 0.2, 0.4

    labels = [label.replace("$", r"\$") for label in result.labels()]  # "$" would start mathtext
    values = result.values()
    positions = list(range(len(values)))
    if query.chart == "barh":
        figure = Figure(figsize=(8, 1 + 0.35 * len(values)), dpi=100)
        axes = figure.subplots()
        axes.barh(positions, values, color=BAR_COLOR)
        axes.set_yticks(positions, labels=labels)
        axes.invert_yaxis()  # the first row at the top
        axes.set_xlabel(query.value or "")
        if whole:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    elif query.chart == "bar":
        figure = Figure(figsize=(8, 3.5), dpi=100)
        axes = figure.subplots()
        numbers = _whole_numbers(result)
        if numbers:  # e.g. hours: place each bar at its number, so that a missing hour shows as a gap
            positions, labels = numbers, [str(n) for n in range(min(numbers), max(numbers) + 1)]
            axes.set_xticks(range(min(numbers), max(numbers) + 1), labels=labels)
        else:
            axes.set_xticks(positions, labels=labels)
        axes.bar(positions, values, color=BAR_COLOR)
        axes.set_xlabel(", ".join(query.label))
        axes.set_ylabel(query.value or "")
        if whole:
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        figure = Figure(figsize=(5, 5), dpi=100)
        axes = figure.subplots()
        axes.pie(values, labels=labels, autopct="%1.1f%%", startangle=90, counterclock=False)
        axes.set_aspect("equal")
    axes.set_title(query.title.replace("$", r"\$"))
    return figure


def _whole_values(result: QueryResult) -> bool:
    """Whether every value of the value column is a whole number (a count)."""
    return all(float(value).is_integer() for value in result.values())


def _whole_numbers(result: QueryResult) -> list[int] | None:
    """The label column's values when the label is one column of whole numbers, else None."""
    if len(result.query.label) != 1:
        return None
    position = result.columns.index(result.query.label[0])
    numbers = [row[position] for row in result.rows]
    if all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        return numbers
    return None
