"""The staging retention and the maximum window are validated, and a bad value fails the task at once.

A bad Variable used to become a ValueError (junk), a retried task (`nan`), or a silent
"drop everything" (a retention of 0 or less); now each is refused with a message that
names the Variable, through AirflowFailException, which Airflow does not retry.
"""

from __future__ import annotations

import math

import pytest

from sparkify.staging import StagingSettingError, parse_retention_hours
from sparkify.window import WindowError, parse_max_window_days, run_window
from tests.support import PROJECT_ROOT, task_context

BAD = ["nan", "NaN", "inf", "-inf", "-1", "0", "", "  ", "junk", "1e400", True, math.nan, math.inf, -3, None]


@pytest.mark.parametrize("value", [*BAD, "0.5", 0.99])
def test_retention_below_an_hour_or_not_a_finite_number_is_refused(value):
    with pytest.raises(StagingSettingError, match="sparkify_staging_retention_hours=.* hours from 1 to"):
        parse_retention_hours(value)


@pytest.mark.parametrize(("value", "hours"), [("48", 48.0), (" 1 ", 1.0), ("1.5", 1.5), (72, 72.0)])
def test_usable_retentions(value, hours):
    assert parse_retention_hours(value) == hours


@pytest.mark.parametrize("value", [*BAD, "1e9", 10**6])
def test_max_window_days_must_be_a_positive_finite_number(value):
    with pytest.raises(WindowError, match="sparkify_max_window_days=.* positive number of days"):
        parse_max_window_days(value)


@pytest.mark.parametrize(("value", "days"), [("31", 31.0), ("0.5", 0.5), (7, 7.0)])
def test_usable_max_window_days(value, days):
    assert parse_max_window_days(value) == days


@pytest.mark.parametrize("value", ["nan", "inf", "-2", "junk"])
def test_a_bad_max_window_days_fails_the_begin_task_without_retries(monkeypatch, value):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", value)
    with pytest.raises(AirflowFailException, match="sparkify_max_window_days"):
        run_window(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"), check_settings=True)  # as begin does


def test_the_later_tasks_of_an_hourly_run_do_not_read_max_window_days(monkeypatch):
    """Only begin (check_settings) and runs that give their own window read it: one Execution API call a task."""
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", "junk")
    window = run_window(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))
    assert (str(window.start), str(window.end)) == ("2018-11-15 00:00:00+00:00", "2018-11-15 01:00:00+00:00")
    params = {"window_start": "2018-11-15T00:00:00Z", "window_end": "2018-11-15T06:00:00Z"}
    with pytest.raises(AirflowFailException, match="sparkify_max_window_days"):
        run_window(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00", params=params, run_type="manual"))


@pytest.fixture(scope="module")
def create_tables():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_etl.py"))
    assert bag.import_errors == {}
    return bag.dags["sparkify_etl"].get_task("create_tables").python_callable


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "two days"])
def test_a_bad_retention_fails_create_tables_before_it_touches_the_warehouse(monkeypatch, create_tables, value):
    from airflow.sdk.exceptions import AirflowFailException

    import sparkify.warehouse

    def no_warehouse(*args, **kwargs):
        raise AssertionError("create_tables reached the warehouse with an unusable retention")

    monkeypatch.setattr(sparkify.warehouse, "warehouse_hook", no_warehouse)
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_STAGING_RETENTION_HOURS", value)
    with pytest.raises(AirflowFailException, match="sparkify_staging_retention_hours"):
        create_tables(conn_id="redshift", run_id="r", ti=None, dag=None)
