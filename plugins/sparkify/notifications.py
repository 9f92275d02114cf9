"""Alerts through Airflow notifiers: failed tasks and failed `warn` quality checks.

E-mail goes through the SMTP provider's SmtpNotifier; a copy goes to Slack through the Slack
provider's SlackWebhookNotifier when the Variable `sparkify_alert_slack_conn_id` names a Slack
webhook connection (slack_alerts.py). Late runs are alerted the same way (late_run.py).

E-mail is off by default. Set the Airflow Variable `sparkify_alert_emails` (addresses separated by commas,
semicolons or spaces) to turn them on; the mail goes through the SMTP connection named by
`sparkify_alert_smtp_conn_id` (default `smtp_default`), from `sparkify_alert_from` (default: the
connection's `from_email` extra, else `sparkify-airflow@localhost`).

Each alert names the DAG, the run, the run's window, the task, the error and the task's log in the
UI (`[api] base_url`). Sending is best effort: a missing connection, a down SMTP server or any
other error is logged and never fails or delays the task beyond the SMTP client's own timeout.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

RECIPIENTS_VARIABLE = "sparkify_alert_emails"
SMTP_CONN_VARIABLE = "sparkify_alert_smtp_conn_id"
FROM_VARIABLE = "sparkify_alert_from"
DEFAULT_SMTP_CONN_ID = "smtp_default"
DEFAULT_FROM = "sparkify-airflow@localhost"
LINKS = {"Log": "open the task log", "Run page": "open the run"}  # facts whose value is a link, and its label
ERROR_LINES = 40  # of the error message, in the mail; the full traceback is in the task log


@dataclass(frozen=True)
class Alert:
    """One alert: a subject line, an HTML body (e-mail) and a Slack mrkdwn text, all safe to send as they are."""

    subject: str
    html: str
    text: str = ""


def recipients(value: Any) -> list[str]:
    """The addresses in a Variable's value: separated by commas, semicolons or whitespace."""
    return [address for address in re.split(r"[,;\s]+", str(value or "")) if address]


def task_failure_alert(context: Mapping[str, Any]) -> Alert:
    """The alert for a task that failed for good (no retry left, or a deterministic error)."""
    facts = _run_facts(context)
    error = _error_text(context.get("exception"))
    first_line = error.splitlines()[0] if error else "unknown error"
    subject = (
        f"[sparkify] FAILED {facts['DAG']}.{facts['Task']} | run {facts['Run']} | "
        f"window {facts['Window']} | {first_line}"
    )
    return build_alert(subject, "Task failed", facts, "Error", error)


def quality_warning_alert(context: Mapping[str, Any], warnings: Sequence[Mapping[str, Any]]) -> Alert:
    """The alert for failed quality checks of severity `warn` (the run goes on)."""
    facts = _run_facts(context)
    lines = "\n".join(
        f"- {w['name']} ({w.get('table') or 'custom'}): observed {w.get('observed')!r}, expected {w.get('expected')}"
        for w in warnings
    )
    subject = (
        f"[sparkify] WARNING {len(warnings)} data quality check(s) failed in {facts['DAG']}.{facts['Task']} | "
        f"run {facts['Run']} | window {facts['Window']}"
    )
    return build_alert(subject, "Data quality warnings (severity warn; the run goes on)", facts, "Failed checks", lines)


def build_alert(subject: str, title: str, facts: Mapping[str, str], detail_title: str, detail: str) -> Alert:
    """An Alert from its facts (name: value; a "Log" value is a link) and one block of detail."""
    return Alert(
        _one_line(subject),
        _html(title, facts, detail_title, detail),
        _slack_text(_one_line(subject), facts, detail_title, detail),
    )


def send_alert(context: Mapping[str, Any], alert: Alert) -> bool:
    """Send `alert` by e-mail and to Slack, each if configured; returns whether any was sent. Never raises."""
    from sparkify.slack_alerts import send_to_slack

    mailed = send_mail(context, alert)
    return send_to_slack(alert) or mailed


def send_mail(context: Mapping[str, Any], alert: Alert) -> bool:
    """Send `alert` with SmtpNotifier if e-mail alerts are on; returns whether a mail was sent. Never raises."""
    try:
        from airflow.sdk import Variable

        to = recipients(Variable.get(RECIPIENTS_VARIABLE, default=""))
        if not to:
            return False
        conn_id = Variable.get(SMTP_CONN_VARIABLE, default=DEFAULT_SMTP_CONN_ID) or DEFAULT_SMTP_CONN_ID
        sender = Variable.get(FROM_VARIABLE, default=None) or _connection_sender(conn_id) or DEFAULT_FROM
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        # The texts are passed as context values, not as templates: an error message that contains
        # "{{" is sent as it is, never rendered by Jinja.
        notifier = SmtpNotifier(
            to=to,
            from_email=sender,
            smtp_conn_id=conn_id,
            subject="{{ sparkify_alert.subject }}",
            html_content="{{ sparkify_alert.html }}",
        )
        notifier({**context, "sparkify_alert": alert})
        log.info("Alert sent to %s: %s", ", ".join(to), alert.subject)
        return True
    except Exception as error:  # an alert must never fail the task or the run
        log.warning("Could not send the alert %r: %s: %s", alert.subject, type(error).__name__, error)
        return False


def notify_task_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback: e-mail the failure of a task (the run fails with it)."""
    try:
        send_alert(context, task_failure_alert(context))
    except Exception as error:
        log.warning("Could not build the failure alert: %s: %s", type(error).__name__, error)


def notify_quality_warnings(context: Mapping[str, Any], warnings: Sequence[Mapping[str, Any]]) -> None:
    """E-mail failed checks of severity `warn`; nothing when there are none."""
    if not warnings:
        return
    try:
        send_alert(context, quality_warning_alert(context, warnings))
    except Exception as error:
        log.warning("Could not build the quality warning alert: %s: %s", type(error).__name__, error)


def task_log_url(context: Mapping[str, Any]) -> str:
    """The task's log in the Airflow UI (the same address as the task instance's `log_url`)."""
    ti = context.get("ti") or context.get("task_instance")
    url = getattr(ti, "log_url", None)
    if isinstance(url, str) and url:
        return url
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    dag_id, task_id = getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?")
    run_id = quote(str(context.get("run_id") or getattr(ti, "run_id", "")))
    try_number = getattr(ti, "try_number", None)
    return f"{base}/dags/{dag_id}/runs/{run_id}/tasks/{task_id}" + (f"?try_number={try_number}" if try_number else "")


def _run_facts(context: Mapping[str, Any]) -> dict[str, str]:
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    return {
        "DAG": str(getattr(dag, "dag_id", None) or getattr(ti, "dag_id", "?")),
        "Run": str(context.get("run_id") or getattr(ti, "run_id", "?")),
        "Window": _window_text(context),
        "Task": str(getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", "?")),
        "Try": str(getattr(ti, "try_number", "?")),
        "Log": task_log_url(context),
    }


def _window_text(context: Mapping[str, Any]) -> str:
    """The window the run processes; for a run whose window params are invalid, what was asked."""
    try:
        from sparkify.window import run_window

        return str(run_window(context))
    except Exception:
        params = context.get("params") or {}
        start = params.get("window_start") or context.get("data_interval_start")
        end = params.get("window_end") or context.get("data_interval_end")
        return f"[{start}, {end}) (not validated)"


def _error_text(exception: Any) -> str:
    if exception is None:
        return ""
    text = str(exception).strip() or type(exception).__name__
    name = type(exception).__name__
    text = text if text.startswith(name) else f"{name}: {text}"
    lines = text.splitlines()
    return "\n".join(
        lines[:ERROR_LINES]
        + ([f"… ({len(lines) - ERROR_LINES} more lines in the log)"] if len(lines) > ERROR_LINES else [])
    )


def _html(title: str, facts: Mapping[str, str], detail_title: str, detail: str) -> str:
    rows = "".join(
        f"<tr><th align='left'>{html.escape(name)}</th><td>"
        + (f'<a href="{html.escape(value)}">{html.escape(value)}</a>' if name in LINKS else html.escape(value))
        + "</td></tr>"
        for name, value in facts.items()
    )
    return (
        f"<h3>{html.escape(title)}</h3><table>{rows}</table>"
        f"<h4>{html.escape(detail_title)}</h4><pre>{html.escape(detail)}</pre>"
    )


def _slack_text(subject: str, facts: Mapping[str, str], detail_title: str, detail: str) -> str:
    """Slack mrkdwn: the subject in bold, one line per fact, the detail in a code block."""
    rows = "\n".join(
        f"*{name}:* <{_slack_escape(value)}|{LINKS[name]}>" if name in LINKS else f"*{name}:* {_slack_escape(value)}"
        for name, value in facts.items()
    )
    block = _slack_escape(detail).replace("`", "'") or "(none)"
    return f"*{_slack_escape(subject)}*\n{rows}\n*{detail_title}:*\n```{block}```"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _connection_sender(conn_id: str) -> str | None:
    try:
        from airflow.sdk import Connection

        return (Connection.get(conn_id).extra_dejson or {}).get("from_email")
    except Exception:
        return None
