"""Alerts reach people: a real SMTP server receives the mail of a failed sparkify_etl run.

Alerts are off by default (no Variable, no mail), and an SMTP server that is down never fails
or changes a run.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from local_stack.processes import free_port
from tests.smtp_server import Mailbox, smtp_server
from tests.support import run_dag

pytestmark = pytest.mark.integration

# An hour whose day file is not in the sample bucket, long overdue: wait_for_log_data fails at once.
EMPTY_HOUR = datetime(2018, 11, 2, 5, tzinfo=timezone.utc)
BASE_URL = "http://airflow.sparkify.test:8080"


@pytest.fixture
def mailbox(monkeypatch):
    with smtp_server() as box:
        monkeypatch.setenv("AIRFLOW_CONN_SPARKIFY_ALERTS_SMTP", box.connection_json())
        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SMTP_CONN_ID", "sparkify_alerts_smtp")
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE_URL)
        yield box


def test_the_mail_of_a_failed_run_names_dag_run_window_task_error_and_log(
    sparkify_dag, sample_data, mailbox, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS", "oncall@sparkify.test, lead@sparkify.test")
    run = sparkify_dag.test(logical_date=EMPTY_HOUR)
    assert str(getattr(run.state, "value", run.state)) == "failed"

    [mail] = mailbox.messages  # one failed task, one mail
    assert mail["X-Envelope-To"] == "oncall@sparkify.test, lead@sparkify.test"
    subject, body = mail["Subject"], Mailbox.body(mail)
    window = "[2018-11-02T05:00:00+00:00, 2018-11-02T06:00:00+00:00)"
    error = (
        f"Late data: s3://udacity-dend/log_data/2018/11/2018-11-02-events.json still missing for the window {window}"
    )
    for text in (subject, body):
        assert "sparkify_etl" in text and "wait_for_log_data" in text, text
        assert run.run_id in text and window in text, text
        assert error in text, text
    log_link = f"{BASE_URL}/dags/sparkify_etl/runs/{quote(run.run_id)}/tasks/wait_for_log_data?try_number=1"
    assert f'<a href="{log_link}">' in body, body


def test_no_variable_no_mail(sparkify_dag, sample_data, mailbox, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS", raising=False)
    assert run_dag(sparkify_dag, EMPTY_HOUR) == "failed"
    assert mailbox.messages == []


def test_an_smtp_server_that_is_down_changes_nothing(sparkify_dag, sample_data, monkeypatch):
    down = Mailbox("127.0.0.1", free_port())  # nothing listens there
    monkeypatch.setenv("AIRFLOW_CONN_SPARKIFY_ALERTS_SMTP", down.connection_json())
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SMTP_CONN_ID", "sparkify_alerts_smtp")
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS", "oncall@sparkify.test")
    run = sparkify_dag.test(logical_date=EMPTY_HOUR)
    states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}
    assert states["wait_for_log_data"] == "failed" and states["stage_events"] == "upstream_failed"
