"""Counts get whole-number ticks in the report's charts; fractional values keep fractional ticks."""

from __future__ import annotations

import pytest

from sparkify.report.analytics_queries import AnalyticsQuery, QueryResult
from sparkify.report.charts import chart_figure


def result(chart: str, values: list) -> QueryResult:
    query = AnalyticsQuery(
        name="q", title="Plays", description="", sql="SELECT", chart=chart, label=("who",), value="n"
    )
    return QueryResult(query, ("who", "n"), [(f"user {i}", v) for i, v in enumerate(values)])


def value_ticks(chart: str, values: list) -> list[float]:
    figure = chart_figure(result(chart, values))
    assert figure is not None
    figure.canvas.draw()  # the locator places the ticks when the figure is drawn
    [axes] = figure.axes
    axis = axes.xaxis if chart == "barh" else axes.yaxis
    low, high = axes.get_xlim() if chart == "barh" else axes.get_ylim()
    return [t for t in axis.get_majorticklocs() if low <= t <= high]


@pytest.mark.parametrize("chart", ["bar", "barh"])
def test_small_counts_get_integer_ticks(chart):
    ticks = value_ticks(chart, [1, 2, 1])  # matplotlib's default would tick 0.0, 0.25, 0.5 …
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_fractional_values_keep_fractional_ticks():
    ticks = value_ticks("bar", [0.2, 0.5, 0.7])
    assert any(not float(t).is_integer() for t in ticks), ticks
