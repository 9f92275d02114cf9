"""The report's pieces without a warehouse: query headers, terminal tables, charts and the HTML page."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from sparkify.report.analytics_queries import (
    AnalyticsQuery,
    AnalyticsQueryError,
    QueryResult,
    load_queries,
    parse_query,
)
from sparkify.report.charts import chart_png
from sparkify.report.html_page import render_page
from sparkify.report.text_table import format_result, format_table
from tests.support import PROJECT_ROOT

PNG = b"\x89PNG\r\n\x1a\n"
ANALYTICS_SQL = PROJECT_ROOT / "include" / "sql" / "analytics"


def sql_file(tmp_path: Path, header: str, name: str = "10_question.sql") -> Path:
    path = tmp_path / name
    path.write_text(header + "\nSELECT 1 AS n\n")
    return path


def result(chart: str = "barh", rows=None, title: str = "Top <songs> & more") -> QueryResult:
    query = AnalyticsQuery(
        name="top",
        title=title,
        description="Plays <b>per</b> song",
        sql="SELECT",
        chart=chart,
        label=("song", "artist"),
        value="plays",
    )
    rows = rows if rows is not None else [("Café $^$ Society", "Zoë", 12, Decimal("41.5")), ("<script>", None, 3, None)]
    return QueryResult(query, ("song", "artist", "plays", "share"), rows)


def test_the_project_queries_answer_the_issue_in_order():
    queries = load_queries(ANALYTICS_SQL)
    assert [q.name for q in queries] == [
        "top_songs",
        "top_artists",
        "plays_by_hour",
        "plays_by_weekday",
        "free_vs_paid",
        "most_active_users",
        "top_locations",
        "user_agent_families",
    ]
    for query in queries:
        assert query.title and query.description and query.chart in ("bar", "barh", "pie")
        assert query.label and query.value
        assert "%(" not in query.sql, "the report binds no parameters"


def test_a_header_is_parsed(tmp_path):
    query = parse_query(
        sql_file(
            tmp_path,
            "-- title: Plays\n-- description: All of them\n-- chart: pie\n-- label: level, user_id\n-- value: plays",
        )
    )
    assert (query.name, query.title, query.description, query.chart, query.label, query.value) == (
        "question",
        "Plays",
        "All of them",
        "pie",
        ("level", "user_id"),
        "plays",
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("-- chart: bar", "10_question.sql: the header needs a '-- title: ...' line."),
        ("-- title: T\n-- colour: red", "10_question.sql: unknown header 'colour'"),
        ("-- title: T\n-- chart: donut", "10_question.sql: chart 'donut' is not one of bar, barh, pie, none."),
        ("-- title: T\n-- chart: bar\n-- value: plays", "10_question.sql: a bar chart needs '-- label: <columns>'"),
    ],
)
def test_bad_headers_are_named(tmp_path, header, message):
    with pytest.raises(AnalyticsQueryError, match=re.escape(message)):
        parse_query(sql_file(tmp_path, header))


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(AnalyticsQueryError, match="No analytics queries"):
        load_queries(tmp_path)


def test_terminal_tables_align_numbers_right_and_show_null_as_blank():
    assert format_table(("name", "plays", "share"), [("Ab", 1234, Decimal("5.5")), ("Abcdef", 7, None)]) == (
        "name      plays    share\n------  -------  -------\nAb        1,234      5.5\nAbcdef        7"
    )
    assert format_result(result(rows=[])).endswith(
        "song    artist    plays    share\n------  --------  -------  -------\n(no rows)"
    )


@pytest.mark.parametrize("chart", ["bar", "barh", "pie"])
def test_charts_are_pngs_even_with_dollar_signs_in_labels(chart):
    png = chart_png(result(chart))  # "$^$" is a mathtext syntax error unless escaped
    assert png.startswith(PNG) and len(png) > 2000


def test_no_chart_without_rows_or_when_asked_for_none():
    assert chart_png(result("none")) is None
    assert chart_png(result("bar", rows=[])) is None


def test_the_page_embeds_the_chart_and_escapes_every_value():
    png = chart_png(result())
    page = render_page(
        [(result(), png), (result("none", rows=[], title="Empty"), None)],
        datetime(2018, 11, 30, 12, tzinfo=timezone.utc),
        "connection 'redshift' <postgres>",
    )

    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "Top &lt;songs&gt; &amp; more" in page
    assert "from connection &#x27;redshift&#x27; &lt;postgres&gt;" in page and "2018-11-30 12:00:00 UTC" in page
    [encoded] = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(encoded) == png
    assert '<td>Café $^$ Society</td><td>Zoë</td><td class="number">12</td><td class="number">41.5</td>' in page
    assert "<td>&lt;script&gt;</td><td></td>" in page
    assert "<em>No rows.</em>" in page
