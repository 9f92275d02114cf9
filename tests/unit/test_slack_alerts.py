"""Alerts reach Slack through SlackWebhookNotifier when a webhook connection is named.

A real HTTP server stands in for Slack."""

from __future__ import annotations

import logging

import pytest

from sparkify.notifications import notify_quality_warnings, notify_task_failure, send_alert, task_failure_alert
from tests.slack_server import slack_webhook_server
from tests.support import failure_context

RUN_ID = "scheduled__2018-11-15T00:00:00+00:00"


@pytest.fixture
def slack(monkeypatch):
    with slack_webhook_server() as channel:
        monkeypatch.setenv("AIRFLOW_CONN_SPARKIFY_ALERTS_SLACK", channel.connection_json())
        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SLACK_CONN_ID", "sparkify_alerts_slack")
        monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS", raising=False)  # Slack alone
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.sparkify.test:8080")
        yield channel


def test_a_failed_task_is_posted_with_dag_run_window_task_error_and_log_link(slack):
    notify_task_failure(failure_context(ValueError("COPY rejected line 100 <of> s3://bucket/key & more")))
    [message] = slack.messages
    text = message["text"]
    assert text.startswith("*[sparkify] FAILED sparkify_etl.load_users_dim | run " + RUN_ID), text
    for fact in (
        "*DAG:* sparkify_etl",
        f"*Run:* {RUN_ID}",
        "*Task:* load_users_dim",
        "*Try:* 4",
        "*Window:* [2018-11-15T00:00:00+00:00, 2018-11-15T01:00:00+00:00)",
    ):
        assert fact in text, text
    assert "```ValueError: COPY rejected line 100 &lt;of&gt; s3://bucket/key &amp; more```" in text, "escaped for Slack"
    assert (
        "<http://airflow.sparkify.test:8080/dags/sparkify_etl/runs/scheduled__2018-11-15T00%3A00%3A00%2B00%3A00"
        "/tasks/load_users_dim?try_number=4|open the task log>"
    ) in text
    assert message.get("unfurl_links") is False


def test_failed_warn_checks_are_posted(slack):
    context = failure_context(RuntimeError("unused"))
    context["ti"].task_id = "run_quality_checks"
    notify_quality_warnings(
        context, [{"name": "users_not_empty", "table": "users", "observed": 0, "expected": "greater than 0"}]
    )
    [message] = slack.messages
    assert "WARNING 1 data quality check(s) failed in sparkify_etl.run_quality_checks" in message["text"]
    assert "- users_not_empty (users): observed 0, expected greater than 0" in message["text"]


def test_texts_are_sent_as_they_are_never_rendered(slack):
    notify_task_failure(failure_context(ValueError("bad value {{ 7 * 7 }}")))
    [message] = slack.messages
    assert "{{ 7 * 7 }}" in message["text"] and "49" not in message["text"]


def test_off_without_the_variable(slack, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_ALERT_SLACK_CONN_ID")
    context = failure_context(RuntimeError("boom"))
    assert send_alert(context, task_failure_alert(context)) is False
    assert slack.messages == []


def test_a_refusing_webhook_never_raises_nor_logs_its_url(slack, caplog):
    slack.status = 500
    context = failure_context(RuntimeError("boom"))
    with caplog.at_level(logging.WARNING, logger="sparkify.slack_alerts"):
        assert send_alert(context, task_failure_alert(context)) is False
    assert len(slack.messages) == 1, "it was tried"
    assert "Could not post the alert" in caplog.text
    assert "not-a-real-token" not in caplog.text


def test_an_unreachable_webhook_never_raises(slack, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SLACK_CONN_ID", "no_such_connection")
    notify_task_failure(failure_context(RuntimeError("boom")))
    assert slack.messages == []
