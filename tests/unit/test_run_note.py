"""The run's note: the window each run processes, or the one line that says why it cannot run."""

from __future__ import annotations

import pendulum
import pytest
from airflow.sdk.exceptions import AirflowFailException

from sparkify.window import (
    RunWindow,
    WindowError,
    WindowRefused,
    failure_note,
    resolve_window,
    run_window,
    validate_window,
)


def at(*args) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz="UTC")


@pytest.mark.parametrize(
    ("window", "note"),
    [
        (RunWindow(at(2018, 11, 15, 7), at(2018, 11, 15, 8)), "window 2018-11-15 07:00–08:00 UTC"),
        (RunWindow(at(2018, 11, 15, 23), at(2018, 11, 16)), "window 2018-11-15 23:00–24:00 UTC"),
        (RunWindow(at(2018, 11, 15), at(2018, 11, 16)), "window 2018-11-15 00:00–24:00 UTC"),
        (RunWindow(at(2018, 11, 14, 18), at(2018, 11, 15, 6)), "window 2018-11-14 18:00 – 2018-11-15 06:00 UTC"),
        (RunWindow(at(2018, 11, 15, 7, 0, 30), at(2018, 11, 15, 7, 45)), "window 2018-11-15 07:00:30–07:45 UTC"),
    ],
)
def test_the_note_names_the_window_in_utc(window, note):
    assert window.note() == note


@pytest.mark.parametrize("run_type", ["scheduled", "backfill"])
def test_scheduled_and_backfill_runs_note_their_data_interval(run_type):
    window = resolve_window({}, run_type, at(2018, 11, 15, 7), at(2018, 11, 15, 8), at(2018, 11, 15, 7))
    assert window.note() == "window 2018-11-15 07:00–08:00 UTC"


def test_a_manual_run_notes_its_window_even_when_the_logical_date_is_today():
    params = {"window_start": "2018-11-15T07:00:00Z", "window_end": "2018-11-15T08:00:00+00:00"}
    window = resolve_window(params, "manual", at(2026, 12, 7, 10), at(2026, 12, 7, 11), at(2026, 12, 7, 11, 3))
    assert window.note() == "window 2018-11-15 07:00–08:00 UTC"


def test_a_reversed_window_fails_with_one_short_line():
    with pytest.raises(WindowError) as caught:
        validate_window("2018-11-15T08:00:00Z", "2018-11-15T07:00:00Z")
    line = failure_note(caught.value)
    assert line == ("Invalid window: window_end 2018-11-15 07:00 must be after window_start 2018-11-15 08:00 (UTC).")
    assert "\n" not in line and len(line) <= 100


class _Run:
    dag_id, run_id, run_type, run_after, note = "sparkify_etl", "manual__x", "manual", at(2026, 12, 7), None


def test_begin_fails_without_retry_and_with_the_same_line(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", "31")
    context = {
        "dag_run": _Run(),
        "params": {"window_start": "2018-11-15T08:00:00Z", "window_end": "2018-11-15T07:00:00Z"},
        "logical_date": at(2026, 12, 7),
    }
    with pytest.raises(AirflowFailException) as caught:
        run_window(context)
    assert str(caught.value).startswith("Invalid window: window_end 2018-11-15 07:00 must be after")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_begin_ends_a_bad_window_with_window_refused_which_its_retry_policy_fails_at_once(monkeypatch):
    """A SystemExit (exit code 1), which Airflow logs without a traceback; str() is the line failure alerts show."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import RetryAction

    from tests.support import PROJECT_ROOT

    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", "31")
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_etl.py"))
    begin = bag.dags["sparkify_etl"].get_task("begin")
    context = {
        "dag_run": _Run(),
        "params": {"window_start": "2018-11-15T08:00:00Z", "window_end": "2018-11-15T07:00:00Z"},
        "logical_date": at(2026, 12, 7),
    }
    with pytest.raises(WindowRefused) as caught:
        begin.python_callable(**context)
    refused = caught.value
    assert not isinstance(refused, Exception) and refused.code == 1
    reason = "Invalid window: window_end 2018-11-15 07:00 must be after window_start 2018-11-15 08:00 (UTC)."
    assert str(refused) == reason
    assert refused.__cause__ is None and refused.__suppress_context__
    assert begin.retries == 3
    assert begin.retry_policy.evaluate(refused, 1, 3).action == RetryAction.FAIL
    assert begin.retry_policy.evaluate(ConnectionError("reset"), 1, 3).action == RetryAction.DEFAULT, "retried"
