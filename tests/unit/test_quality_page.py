"""The run's data quality page (sparkify.quality_page) without services: what it shows, escaping, its object name."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pendulum
import pytest

from sparkify.quality_page import quality_page_name, render_quality_page
from sparkify.sql_check import SqlCheck
from sparkify.window import RunWindow
from tests.html_table import page_text

WINDOW = RunWindow(pendulum.datetime(2018, 11, 15, 7, tz="UTC"), pendulum.datetime(2018, 11, 15, 8, tz="UTC"))
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
CHECKS = [
    SqlCheck(
        "users_not_empty", "SELECT COUNT(*) FROM users_marker_sql", 0, "greater_than", table="users", kind="row_count"
    ),
    SqlCheck(
        "user_id_not_null",
        "SELECT COUNT(*) FROM nulls_marker_sql",
        0,
        table="songplays",
        kind="null_check",
        column="user_id",
    ),
    SqlCheck(
        "level_min",
        "SELECT MIN(level) FROM min_marker_sql",
        "free",
        table="users",
        severity="warn",
        kind="min",
        column="level",
    ),
]
# As DataQualityOperator returns them (its _run): one per check, in order.
RESULTS = [
    {"name": "users_not_empty", "table": "users", "observed": 12, "expected": "greater than 0", "passed": True,
     "severity": "error", "description": ""},
    {"name": "user_id_not_null", "table": "songplays", "observed": 3, "expected": "equal 0", "passed": False,
     "severity": "error", "description": ""},
    {"name": "level_min", "table": "users", "observed": HOSTILE, "expected": f"equal {HOSTILE}", "passed": False,
     "severity": "warn", "description": f"levels are {HOSTILE}"},
]  # fmt: skip


@pytest.fixture(scope="module")
def page() -> str:
    return render_quality_page(
        CHECKS,
        RESULTS,
        dag_id="sparkify_etl",
        run_id=f"manual__{HOSTILE}",
        window=WINDOW,
        generated_at=datetime(2018, 11, 15, 8, 5, 6, tzinfo=timezone.utc),
    )


def test_each_check_is_a_row_with_its_table_description_expected_actual_and_verdict(page):
    head, *rows = page_text(page).rows
    assert head[1] == ["Check", "Table", "What it checks", "Expected", "Actual", "Result"]
    assert rows == [
        ("pass", ["users_not_empty", "users", "rows of users", "greater than 0", "12", "PASS"]),
        ("fail", ["user_id_not_null", "songplays", "rows whose user_id is NULL", "equal 0", "3", "FAIL"]),
        ("warn", ["level_min", "users", f"levels are {HOSTILE}", f"equal {HOSTILE}", HOSTILE, "WARN"]),
    ]


def test_the_page_names_the_run_its_window_and_the_tally(page):
    [meta] = page_text(page).paragraphs
    assert f"DAG sparkify_etl, run manual__{HOSTILE}\n" in meta
    assert "window 2018-11-15 07:00–08:00 UTC ([2018-11-15T07:00:00+00:00, 2018-11-15T08:00:00+00:00))" in meta
    assert "Checked 2018-11-15 08:05:06 UTC. 1 of 3 checks passed; 1 failed, 1 warned." in meta


def test_every_value_is_escaped_and_no_sql_is_shown(page):
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x" in page
    assert "marker_sql" not in page and "SELECT" not in page
    assert not re.search(r"\b(src|href)\s*=", page.replace("&lt;img src=x", "")), "self-contained: nothing to fetch"


def test_a_missing_observed_value_reads_null():
    result = {**RESULTS[0], "observed": None, "passed": False}
    page = render_quality_page(
        CHECKS[:1], [result], dag_id="d", run_id="r", window=WINDOW, generated_at=datetime.now(timezone.utc)
    )
    [_, (css, cells)] = page_text(page).rows
    assert (css, cells[4], cells[5]) == ("fail", "NULL", "FAIL")


@pytest.mark.parametrize(
    "run_id",
    [
        "manual__2018-11-15T07:00:00.123456+00:00",
        "../../etc/passwd",
        "a/b?c#d e%2F<x>",
        "ü" * 500,
        "",
    ],
)
def test_the_object_name_is_safe_bounded_and_one_per_run(run_id):
    name = quality_page_name(run_id)
    assert re.fullmatch(r"sparkify_quality_[A-Za-z0-9_-]{1,100}_[0-9a-f]{12}\.html", name), name
    assert quality_page_name(run_id) == name  # a retry replaces the page of the same run


def test_run_ids_that_differ_only_in_unsafe_characters_get_different_names():
    assert quality_page_name("a/b") != quality_page_name("a:b")
    assert quality_page_name("manual__2018-11-15T07:00:00+00:00").startswith(
        "sparkify_quality_manual__2018-11-15T07_00_00_00_00_"
    )
