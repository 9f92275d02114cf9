"""The default_args every Sparkify DAG starts from: owner, retries, and failure alerts."""

from __future__ import annotations

from typing import Any

from sparkify.notifications import notify_task_failure
from sparkify.retry_policy import TRANSIENT_RETRIES


def dag_default_args(**overrides: Any) -> dict[str, Any]:
    """Owner, transient retries with backoff (retry_policy.py), and an e-mail when a task fails for good.

    Airflow's own e-mail settings stay off: alerts go through SmtpNotifier (notifications.py),
    only when the Variable `sparkify_alert_emails` is set.
    """
    return {
        "owner": "sparkify-data-engineering",
        "depends_on_past": False,
        "email_on_retry": False,
        "email_on_failure": False,
        "on_failure_callback": [notify_task_failure],
        **TRANSIENT_RETRIES,
        **overrides,
    }
