"""Deterministic failures fail the task at once (AirflowFailException); transient ones keep the retries.

Airflow never retries AirflowFailException. A failed `error` quality check, a merge with duplicate
keys and a bad setting give the same result on every try, so each must raise it; the README's
"Failures and retries" table lists every case.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from airflow.sdk.exceptions import AirflowFailException

import sparkify.operators.data_quality as data_quality
from sparkify.operators import DataQualityOperator, StageToRedshiftOperator
from sparkify.operators.load_dimension import DuplicateKeyError
from sparkify.retry_policy import fail_fast
from sparkify.sql_check import SqlCheck
from tests.support import task_context


class ScriptedCursor:
    """Answers each check's SQL with the value scripted for it."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers, self.last = answers, None
        self.rowcount = 1

    def execute(self, sql, parameters=None):
        self.last = sql

    def fetchone(self):
        return (self.answers[self.last],)


@pytest.fixture
def warehouse(monkeypatch):
    """DataQualityOperator's warehouse replaced by a ScriptedCursor."""
    answers: dict[str, object] = {}

    @contextmanager
    def transaction(hook):
        yield ScriptedCursor(answers)

    monkeypatch.setattr(DataQualityOperator, "get_db_hook", lambda self: object())
    monkeypatch.setattr(data_quality, "transaction", transaction)
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", "31")
    return answers


def quality_task(*checks: SqlCheck) -> DataQualityOperator:
    return DataQualityOperator(task_id="run_quality_checks", checks=list(checks), results_table=None)


def test_a_failed_error_check_raises_airflow_fail_exception(warehouse):
    warehouse.update({"SELECT nulls": 2, "SELECT rows": 5})
    task = quality_task(SqlCheck("no_nulls", "SELECT nulls", 0), SqlCheck("has_rows", "SELECT rows", 0, "greater_than"))
    with pytest.raises(AirflowFailException, match=r"(?s)1 of 2 data quality checks failed.*no_nulls.*observed 2"):
        task.execute(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))


def test_a_failed_warn_check_does_not_fail_the_task(warehouse):
    warehouse.update({"SELECT users": 0})
    task = quality_task(SqlCheck("users_not_empty", "SELECT users", 0, "greater_than", severity="warn"))
    [result] = task.execute(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))
    assert result["passed"] is False and result["severity"] == "warn"


def test_a_merge_with_duplicate_keys_is_not_retried():
    assert issubclass(DuplicateKeyError, AirflowFailException)
    assert issubclass(data_quality.DataQualityError, AirflowFailException)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("copy_options", {"region": "mars-1"}, "region 'mars-1'"),
        ("copy_options", {"max_error": "10"}, "max_error must be an integer"),  # a templated max_error
        ("s3_bucket", "Not A Bucket", "not a valid S3 bucket name"),
        ("iam_role", "admin", "is not a role ARN"),
        ("manifest_location", "/tmp/manifests", "is not an s3://bucket/prefix URL"),
    ],
)
def test_a_bad_setting_fails_the_stage_task_before_any_s3_or_warehouse_call(monkeypatch, setting, value, message):
    """Settings are templated Variables: a bad one is only seen when the task runs, and retrying cannot fix it."""
    import sparkify.operators.stage_to_redshift as stage

    def unreachable(*args, **kwargs):
        raise AssertionError("the stage task reached S3 or the warehouse with a bad setting")

    monkeypatch.setattr(StageToRedshiftOperator, "get_db_hook", unreachable)
    monkeypatch.setattr(stage, "select_objects", unreachable)
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", "31")
    task = StageToRedshiftOperator(
        task_id="stage_events",
        table="staging_events",
        s3_bucket="udacity-dend",
        s3_key="log_data/",
        manifest_location="s3://sparkify-staging/manifests/",
        iam_role="arn:aws:iam::123456789012:role/copy",
    )
    setattr(task, setting, value)  # as the rendered template of a bad Variable
    with pytest.raises(AirflowFailException, match=f"Bad configuration: .*{message}"):
        task.execute(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))


def test_fail_fast_converts_only_the_named_errors():
    with (
        pytest.raises(AirflowFailException, match="Bad configuration: nope"),
        fail_fast("Bad configuration", ValueError),
    ):
        raise ValueError("nope")
    with pytest.raises(ConnectionError), fail_fast("Bad configuration", ValueError):
        raise ConnectionError("the warehouse went away")  # transient: retried
