"""The late-run alert: a Deadline Alert on scheduled runs that have not succeeded in time.

A scheduled run of `sparkify_etl` is late when it has not succeeded `sparkify_late_run_minutes`
(an Airflow Variable, default 30) after its data interval ended. Airflow 3.3's scheduler checks
the DAG's deadlines on every loop; a missed one queues `notify_late_run`, which the triggerer
awaits, and the alert goes through the same notifiers as failures (SmtpNotifier, and Slack when
configured; notifications.py).

The deadline is set when the scheduler creates the run, by `ScheduledIntervalEnd`, a custom
deadline reference registered by the project's Airflow plugin (airflow_plugin.py). It reads the
Variable there, in the scheduler, so parsing the DAG reads nothing; a changed value applies to
runs created afterwards. Backfills and manual runs get no deadline: their windows are history,
already "late" when they start.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk.definitions.deadline import BaseDeadlineReference

from sparkify.durations import parse_duration

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sparkify.notifications import Alert

log = logging.getLogger(__name__)

LATE_RUN_VARIABLE = "sparkify_late_run_minutes"
DEFAULT_LATE_RUN_MINUTES = "30"


def late_run_variable(session: Session) -> str | None:
    """The Variable's value, read in the scheduler's own session.

    `Variable.get` would open and close a session of its own inside the scheduler's run creation, which
    detaches the objects the scheduler holds (its DeadlineAlert) and stops the scheduler. So the
    environment (`AIRFLOW_VAR_…`, as Airflow's environment backend reads it) comes first, then the
    metadata database through the session the scheduler passes in.
    """
    import os

    from airflow.models.variable import Variable
    from sqlalchemy import select

    value = os.environ.get(f"AIRFLOW_VAR_{LATE_RUN_VARIABLE.upper()}")
    if value is not None:
        return value
    stored = session.scalar(select(Variable).where(Variable.key == LATE_RUN_VARIABLE))
    return None if stored is None else stored.val


def late_run_allowance(value: Any = None) -> timedelta:
    """How long after its interval a scheduled run may take: the Variable, in minutes ("90s" and "2h" work too).

    A bad value falls back to the default, with a warning: it is read while the scheduler creates a
    run, and a run must never fail to be created because of an alert setting.
    """
    setting = f"Airflow Variable {LATE_RUN_VARIABLE}"
    if value is None:
        value = DEFAULT_LATE_RUN_MINUTES
    try:
        return parse_duration(value, setting, DEFAULT_LATE_RUN_MINUTES)
    except ValueError as error:
        log.warning("%s Using the default, %s minutes.", error, DEFAULT_LATE_RUN_MINUTES)
        return parse_duration(DEFAULT_LATE_RUN_MINUTES, setting, DEFAULT_LATE_RUN_MINUTES)


class ScheduledIntervalEnd(BaseDeadlineReference):
    """Deadline reference: a scheduled run's data interval end plus `sparkify_late_run_minutes`; none for other runs."""

    required_kwargs = {"dag_id", "run_id"}

    def _evaluate_with(self, *, session: Session, dag_id: str, run_id: str, **kwargs: Any) -> datetime | None:
        from airflow.models import DagRun
        from sqlalchemy import select

        row = session.execute(
            select(DagRun.run_type, DagRun.data_interval_end).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        ).one_or_none()
        if row is None or str(getattr(row.run_type, "value", row.run_type)) != "scheduled" or not row.data_interval_end:
            return None
        return row.data_interval_end + late_run_allowance(late_run_variable(session))


def late_run_alert_definition():
    """The DeadlineAlert for the DAG: `DAG(..., deadline=late_run_alert_definition())`."""
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert

    return DeadlineAlert(
        reference=ScheduledIntervalEnd(),
        interval=timedelta(0),
        callback=AsyncCallback(notify_late_run),
        name="late_run",
    )


def late_run_alert(context: dict[str, Any]) -> Alert:
    """The alert for a missed deadline, from the callback's context (the run as the REST API shows it)."""
    from airflow.configuration import conf

    from sparkify.notifications import build_alert

    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    dag_id, run_id = str(run.get("dag_id", "?")), str(run.get("dag_run_id") or run.get("run_id") or "?")
    window = f"[{_instant(run.get('data_interval_start'))}, {_instant(run.get('data_interval_end'))})"
    base = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    facts = {
        "DAG": dag_id,
        "Run": run_id,
        "Window": window,
        "State": str(run.get("state", "?")),
        "Deadline": _instant(deadline),
        "Run page": f"{base}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}",
    }
    subject = f"[sparkify] LATE {dag_id} | run {run_id} | window {window} | not succeeded by {facts['Deadline']}"
    detail = (
        f"The run of the window {window} has not succeeded by {facts['Deadline']}, the end of its window plus "
        f"the Airflow Variable {LATE_RUN_VARIABLE}. It was {facts['State']} then. Look for a task that is "
        "waiting for late data (wait_for_log_data), queued for a pool slot, or retrying."
    )
    return build_alert(subject, "Run late", facts, "What it means", detail)


async def notify_late_run(context: dict[str, Any] | None = None, **kwargs: Any) -> bool:
    """The deadline's callback, awaited in the triggerer: send the alert; never raises."""
    try:
        from sparkify.notifications import send_alert

        alert = late_run_alert(context or {})
        log.warning("Late run: %s", alert.subject)
        # The notifiers and the SDK's Variable and Connection calls are synchronous: run them off the event loop.
        return await asyncio.to_thread(send_alert, {}, alert)
    except Exception as error:  # the triggerer marks a raising callback failed; the run is not affected either way
        log.warning("Could not send the late-run alert: %s: %s", type(error).__name__, error)
        return False


def _instant(value: Any) -> str:
    """An instant as the failure alerts write it (`2026-11-29T22:00:00+00:00`), whatever form it came in."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else "?"
