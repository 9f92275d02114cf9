"""run_quality_checks' page: DataQualityOperator on a loaded table writes the run's results next to the report
in the session's moto S3, also when a check fails, under the name its "Quality results" link opens
(sparkify.pages; tests/integration/test_page_links.py follows such a link through Airflow's API server)."""

from __future__ import annotations

import re
import types
import uuid

import pytest

from sparkify.config import PROJECT_BUCKET
from sparkify.operators import DataQualityOperator
from sparkify.operators.data_quality import DataQualityError
from sparkify.pages.sources import QUALITY, S3Object
from sparkify.sql_check import SqlCheck
from tests.html_table import page_text
from tests.support import reset_schema, task_context

pytestmark = pytest.mark.integration

ODD_NAME = '<b>Zoë & "Bo"</b>'
RUN_ID = "manual__2018-11-15T07:00:00+00:00/../<x>"  # a run id is free text when triggered through the API
LEVELS = SqlCheck(
    "users_level_accepted",
    "SELECT COUNT(*) FROM users WHERE level IS NULL OR level NOT IN ('free', 'paid')",
    0,
    table="users",
    kind="accepted_values",
    column="level",
)
NOT_EMPTY = SqlCheck(
    "users_not_empty", "SELECT COUNT(*) FROM users", 0, "greater_than", table="users", kind="row_count"
)
NAME = SqlCheck(
    "user_2_first_name",
    "SELECT first_name FROM users WHERE user_id = 2",
    "Bo",
    table="users",
    severity="warn",
    description="user 2 is called Bo",
)


@pytest.fixture
def users(db):
    """`users` with three rows: one level outside free/paid, one first name full of HTML."""
    reset_schema(db)
    db.execute(
        "INSERT INTO users (user_id, first_name, level) VALUES (1, 'Ann', 'free'), (2, %s, 'paid'), (3, 'Cy', 'gold')",
        (ODD_NAME,),
    )
    return db


@pytest.fixture
def location(stack) -> str:
    return f"s3://{PROJECT_BUCKET}/quality-page-test-{uuid.uuid4().hex[:8]}/"


def run_checks(location: str, *checks: SqlCheck) -> tuple[list[dict] | DataQualityError, dict]:
    """Execute the operator as run_quality_checks; returns what it returned (or raised) and what it pushed to XCom."""
    pushed: dict = {}
    context = task_context("2018-11-15T07:00:00", "2018-11-15T08:00:00", run_id=RUN_ID)
    context["ti"] = types.SimpleNamespace(xcom_push=lambda key, value: pushed.__setitem__(key, value))
    task = DataQualityOperator(task_id="run_quality_checks", checks=list(checks), results_page_location=location)
    try:
        return task.execute(context), pushed
    except DataQualityError as error:
        return error, pushed


def test_a_failed_check_is_on_the_page_the_link_opens_and_the_task_still_fails(users, location, s3):
    outcome, pushed = run_checks(location, NOT_EMPTY, LEVELS, NAME)
    assert isinstance(outcome, DataQualityError) and "1 of 3 data quality checks failed" in str(outcome)
    assert users.execute("SELECT COUNT(*) FROM dq_results").fetchone() == (3,), "still recorded"

    prefix = location.removeprefix(f"s3://{PROJECT_BUCKET}/")
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=PROJECT_BUCKET, Prefix=prefix)["Contents"]]
    assert re.fullmatch(re.escape(prefix) + r"quality/sparkify_quality_[A-Za-z0-9_-]+\.html", key), key
    assert pushed == {"quality_results": f"s3://aws_default@{PROJECT_BUCKET}/{key}"}  # the URI: no secret, no URL
    # The object the link's route opens for this run: this one.
    assert QUALITY.page_object(pushed["quality_results"], RUN_ID) == S3Object(PROJECT_BUCKET, key, "aws_default")

    body = s3.get_object(Bucket=PROJECT_BUCKET, Key=key)["Body"].read().decode("utf-8")
    page = page_text(body)
    assert page.rows[1:] == [
        ("pass", ["users_not_empty", "users", "rows of users", "greater than 0", "3", "PASS"]),
        (
            "fail",
            ["users_level_accepted", "users", "rows whose level is not an accepted value", "equal 0", "1", "FAIL"],
        ),
        ("warn", ["user_2_first_name", "users", "user 2 is called Bo", "equal Bo", ODD_NAME, "WARN"]),
    ]
    assert f"run {RUN_ID}\nwindow 2018-11-15 07:00–08:00 UTC" in page.paragraphs[0]
    assert "<b>" not in body


def test_a_passing_run_returns_its_results_as_before_and_a_rerun_replaces_its_page(users, location, s3):
    first, pushed = run_checks(location, NOT_EMPTY)
    assert first == [
        {
            "name": "users_not_empty",
            "table": "users",
            "observed": 3,
            "expected": "greater than 0",
            "passed": True,
            "severity": "error",
            "description": "",
        }
    ]
    users.execute("DELETE FROM users WHERE user_id = 3")
    second, pushed_again = run_checks(location, NOT_EMPTY)
    assert pushed_again == pushed, "one object per run"
    prefix = location.removeprefix(f"s3://{PROJECT_BUCKET}/")
    assert s3.list_objects_v2(Bucket=PROJECT_BUCKET, Prefix=prefix)["KeyCount"] == 1
    page = QUALITY.page_object(pushed["quality_results"], RUN_ID)
    assert page is not None
    rows = page_text(s3.get_object(Bucket=page.bucket, Key=page.key)["Body"].read().decode("utf-8")).rows
    assert rows[1][1][4] == "2", "the rerun's page"


def test_a_page_that_cannot_be_written_does_not_change_the_outcome(users, capsys):
    outcome, pushed = run_checks(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/reports/", NOT_EMPTY, LEVELS)
    assert isinstance(outcome, DataQualityError) and pushed == {}
    assert "Could not write the data quality page: NoSuchBucket" in capsys.readouterr().out
