"""Alerts through SmtpNotifier, to a real SMTP server (aiosmtpd): quality warnings, safe texts, never raising."""

from __future__ import annotations

import types
from contextlib import contextmanager

import pytest

import sparkify.operators.data_quality as data_quality
from sparkify.notifications import notify_task_failure, recipients, send_alert, task_failure_alert
from sparkify.operators import DataQualityOperator
from sparkify.sql_check import SqlCheck
from tests.smtp_server import Mailbox, smtp_server
from tests.support import failure_context


@pytest.fixture
def mailbox(monkeypatch):
    with smtp_server() as box:
        monkeypatch.setenv("AIRFLOW_CONN_SPARKIFY_ALERTS_SMTP", box.connection_json())
        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SMTP_CONN_ID", "sparkify_alerts_smtp")
        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS", "oncall@sparkify.test")
        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", "31")
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.sparkify.test:8080")
        yield box


def test_failed_warn_checks_are_mailed_and_the_task_succeeds(mailbox, monkeypatch):
    @contextmanager
    def transaction(hook):
        yield types.SimpleNamespace(rowcount=1, execute=lambda sql, parameters=None: None, fetchone=lambda: (0,))

    monkeypatch.setattr(DataQualityOperator, "get_db_hook", lambda self: object())
    monkeypatch.setattr(data_quality, "transaction", transaction)
    task = DataQualityOperator(
        task_id="run_quality_checks",
        results_table=None,
        checks=[
            SqlCheck(
                "users_not_empty", "SELECT COUNT(*) FROM users", 0, "greater_than", table="users", severity="warn"
            ),
            SqlCheck("no_null_user_ids", "SELECT COUNT(*) FROM users WHERE user_id IS NULL", 0, table="users"),
        ],
    )
    context = failure_context(RuntimeError("unused"))
    context["ti"].task_id = "run_quality_checks"
    [warned, passed] = task.execute(context)
    assert (warned["passed"], passed["passed"]) == (False, True)

    [mail] = mailbox.messages
    body = Mailbox.body(mail)
    assert "WARNING 1 data quality check(s) failed in sparkify_etl.run_quality_checks" in mail["Subject"]
    assert "users_not_empty (users): observed 0, expected greater than 0" in body
    assert "no_null_user_ids" not in body, "only the failed warn checks"
    assert "[2018-11-15T00:00:00+00:00, 2018-11-15T01:00:00+00:00)" in body


def test_no_warning_no_mail(mailbox, monkeypatch):
    data_quality.notify_quality_warnings(failure_context(RuntimeError("x")), [])
    assert mailbox.messages == []


def test_error_texts_are_sent_as_they_are_never_rendered_or_unescaped(mailbox):
    notify_task_failure(failure_context(ValueError("bad value {{ 7 * 7 }} <script>alert(1)</script>")))
    [mail] = mailbox.messages
    assert "{{ 7 * 7 }}" in mail["Subject"] and "49" not in mail["Subject"]
    body = Mailbox.body(mail)
    assert "{{ 7 * 7 }}" in body and "&lt;script&gt;" in body and "<script>" not in body
    assert (
        '<a href="http://airflow.sparkify.test:8080/dags/sparkify_etl/runs/scheduled__2018-11-15T00%3A00%3A00%2B00'
        '%3A00/tasks/load_users_dim?try_number=4">'
    ) in body


def test_a_failing_smtp_server_or_connection_never_raises(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS", "oncall@sparkify.test")
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SMTP_CONN_ID", "no_such_connection")
    context = failure_context(RuntimeError("boom"))
    assert send_alert(context, task_failure_alert(context)) is False
    notify_task_failure({})  # even a context without anything in it


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("  ", []),
        ("a@x.test", ["a@x.test"]),
        ("a@x.test, b@x.test;c@x.test d@x.test", ["a@x.test", "b@x.test", "c@x.test", "d@x.test"]),
    ],
)
def test_recipients(value, expected):
    assert recipients(value) == expected
