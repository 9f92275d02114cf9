"""The late-run alert: its deadline reference in the metadata database, its registration, and its mail.

The alert firing in a live scheduler and triggerer is tests/live/test_late_run_alert.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from sparkify.late_run import ScheduledIntervalEnd, late_run_alert_definition, notify_late_run
from tests.slack_server import slack_webhook_server
from tests.smtp_server import Mailbox, smtp_server

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 29, 21, tzinfo=timezone.utc)
END = START + timedelta(hours=1)


@pytest.fixture
def runs(airflow_db):
    """Runs of every type for one interval, in the metadata database; removed after."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunType

    dag_id = "sparkify_late_run_test"
    with create_session() as session:
        for n, run_type in enumerate((DagRunType.SCHEDULED, DagRunType.BACKFILL_JOB, DagRunType.MANUAL)):
            session.add(
                DagRun(
                    dag_id=dag_id,
                    run_id=f"{run_type.value}__late",
                    run_type=run_type,
                    logical_date=START + timedelta(seconds=n),  # (dag_id, logical_date) is unique
                    data_interval=(START, END),
                    run_after=END,
                    state="running",
                )
            )
    yield dag_id
    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == dag_id).delete()


def deadline_of(dag_id: str, run_id: str):
    from airflow.utils.session import create_session

    with create_session() as session:
        return ScheduledIntervalEnd()._evaluate_with(session=session, dag_id=dag_id, run_id=run_id)


def test_scheduled_runs_are_due_the_variable_after_their_interval_and_other_runs_never(runs, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_LATE_RUN_MINUTES", raising=False)
    assert deadline_of(runs, "scheduled__late") == END + timedelta(minutes=30)
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_LATE_RUN_MINUTES", "5")
    assert deadline_of(runs, "scheduled__late") == END + timedelta(minutes=5)
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_LATE_RUN_MINUTES", "soon")  # a bad value never blocks run creation
    assert deadline_of(runs, "scheduled__late") == END + timedelta(minutes=30)
    assert deadline_of(runs, "backfill__late") is None
    assert deadline_of(runs, "manual__late") is None
    assert deadline_of(runs, "no_such_run") is None


def test_a_variable_stored_in_the_metadata_db_is_read_in_the_schedulers_own_session(runs, monkeypatch):
    """Variable.get would open a session of its own inside run creation and detach the scheduler's objects."""
    from airflow.models.dagrun import DagRun
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_LATE_RUN_MINUTES", raising=False)
    Variable.set("sparkify_late_run_minutes", "7")
    try:
        with create_session() as session:
            run = session.scalar(select(DagRun).where(DagRun.run_id == "scheduled__late"))
            due = ScheduledIntervalEnd()._evaluate_with(session=session, dag_id=run.dag_id, run_id=run.run_id)
            assert run.run_id == "scheduled__late", "the session's objects stay usable after the read"
        assert due == END + timedelta(minutes=7)
    finally:
        Variable.delete("sparkify_late_run_minutes")


def test_the_plugin_registers_the_reference_so_the_scheduler_can_read_the_dags_alert(airflow_db):
    from airflow.serialization.decoders import decode_deadline_alert
    from airflow.serialization.encoders import encode_deadline_alert

    encoded = encode_deadline_alert(late_run_alert_definition())
    assert encoded["reference"]["__class_path"] == "sparkify.late_run.ScheduledIntervalEnd"
    decoded = decode_deadline_alert({"__type": "deadline_alert", "__var": encoded})
    assert isinstance(decoded.reference.inner_ref, ScheduledIntervalEnd)
    assert decoded.callback.path == "sparkify.late_run.notify_late_run"


def test_the_late_run_mail_and_slack_message_name_dag_run_and_interval(monkeypatch):
    context = {  # what Deadline.handle_miss gives the callback
        "dag_run": {
            "dag_id": "sparkify_etl",
            "dag_run_id": "scheduled__2026-11-29T21:00:00+00:00",
            "state": "running",
            "data_interval_start": "2026-11-29T21:00:00Z",
            "data_interval_end": "2026-11-29T22:00:00Z",
            "run_type": "scheduled",
        },
        "deadline": {"id": "0193", "deadline_time": END + timedelta(minutes=30)},
    }
    with smtp_server() as box, slack_webhook_server() as slack:
        monkeypatch.setenv("AIRFLOW_CONN_SPARKIFY_ALERTS_SMTP", box.connection_json())
        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SMTP_CONN_ID", "sparkify_alerts_smtp")
        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS", "oncall@sparkify.test")
        monkeypatch.setenv("AIRFLOW_CONN_SPARKIFY_ALERTS_SLACK", slack.connection_json())
        monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SLACK_CONN_ID", "sparkify_alerts_slack")
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.sparkify.test:8080")
        assert asyncio.run(notify_late_run(context=context)) is True
        [mail], [message] = box.messages, slack.messages
    window = "[2026-11-29T21:00:00+00:00, 2026-11-29T22:00:00+00:00)"
    assert mail["Subject"] == (
        f"[sparkify] LATE sparkify_etl | run scheduled__2026-11-29T21:00:00+00:00 | window "
        f"{window} | not succeeded by 2026-11-29T22:30:00+00:00"
    )
    body = Mailbox.body(mail)
    assert window in body and "running" in body and "sparkify_late_run_minutes" in body
    assert (
        '<a href="http://airflow.sparkify.test:8080/dags/sparkify_etl/runs/'
        'scheduled__2026-11-29T21%3A00%3A00%2B00%3A00">'
    ) in body
    assert message["text"].startswith("*[sparkify] LATE sparkify_etl") and window in message["text"]


def test_a_failing_notifier_never_raises_in_the_triggerer(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS", "oncall@sparkify.test")
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_ALERT_SMTP_CONN_ID", "no_such_connection")
    assert asyncio.run(notify_late_run(context={"dag_run": {}})) is False
    assert asyncio.run(notify_late_run(context=None)) is False
