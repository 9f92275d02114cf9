"""Every DAG retries transient errors with exponential backoff, capped; the delays are Airflow's own arithmetic."""

from __future__ import annotations

import types
from datetime import timedelta

import pendulum
import pytest

from tests.support import PROJECT_ROOT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


@pytest.mark.parametrize("dag_id", ["sparkify_etl", "sparkify_report", "sparkify_infra", "sparkify_audit"])
def test_every_task_backs_off_exponentially_up_to_a_maximum(dagbag, dag_id):
    for task in dagbag.dags[dag_id].tasks:
        # A multiplier: True would be 1.0 in Airflow 3.3, a constant delay.
        assert task.retry_exponential_backoff == 2.0, task.task_id
        assert task.max_retry_delay == timedelta(minutes=15), task.task_id
        assert task.email_on_failure is False and task.email_on_retry is False


def test_retry_counts(dagbag):
    assert {t.retries for t in dagbag.dags["sparkify_etl"].tasks} == {3}
    assert {t.retry_delay for t in dagbag.dags["sparkify_etl"].tasks} == {timedelta(minutes=1)}
    assert {t.retries for t in dagbag.dags["sparkify_report"].tasks} == {2}


def retry_delays(task, tries: int) -> list[timedelta]:
    """The delay Airflow's scheduler waits before each retry of `task` (TaskInstance.next_retry_datetime)."""
    from airflow.models.taskinstance import TaskInstance

    end = pendulum.datetime(2018, 11, 15, 1, tz="UTC")
    delays = []
    for try_number in range(1, tries + 1):
        ti = types.SimpleNamespace(
            task=task,
            try_number=try_number,
            retry_delay_override=None,
            end_date=end,
            dag_id=task.dag_id,
            task_id=task.task_id,
            logical_date=end,
            log=None,
        )
        delays.append(TaskInstance.next_retry_datetime(ti) - end)
    return delays


def test_the_etl_retry_delays_double_and_stop_at_the_maximum(dagbag):
    task = dagbag.dags["sparkify_etl"].get_task("stage_events")
    first, second, third, *later = retry_delays(task, 6)
    # Airflow spreads each delay over [base, 2 * base) so that failed tasks do not retry in step.
    assert timedelta(minutes=1) <= first < timedelta(minutes=2)
    assert timedelta(minutes=2) <= second < timedelta(minutes=4)
    assert timedelta(minutes=4) <= third < timedelta(minutes=8)
    assert all(delay <= timedelta(minutes=15) for delay in later) and later[-1] == timedelta(minutes=15)


@pytest.mark.parametrize("dag_id", ["sparkify_etl", "sparkify_report", "sparkify_infra", "sparkify_audit"])
def test_every_task_alerts_when_it_fails_for_good(dagbag, dag_id):
    from sparkify.notifications import notify_task_failure

    for task in dagbag.dags[dag_id].tasks:
        assert notify_task_failure in task.on_failure_callback, task.task_id
        assert not task.on_retry_callback, "a retry is not worth a mail"
