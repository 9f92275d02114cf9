"""Alerts to Slack through the Slack provider's SlackWebhookNotifier; off unless a connection is named.

Set the Airflow Variable `sparkify_alert_slack_conn_id` to the id of a Slack Incoming Webhook
connection (type `slackwebhook`, the webhook URL in its password) to receive every alert that is
mailed (failed tasks, `warn` quality checks, late runs) in the webhook's channel as well.

Sending is best effort, like e-mail: a missing connection, an unreachable or refusing webhook is
logged (without the webhook URL, which is a secret) and never fails a task or a run.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sparkify.notifications import Alert

log = logging.getLogger(__name__)

SLACK_CONN_VARIABLE = "sparkify_alert_slack_conn_id"
SLACK_TIMEOUT_SECONDS = 10
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


def slack_conn_id() -> str:
    """The Slack webhook connection alerts go to; empty when Slack alerts are off."""
    from airflow.sdk import Variable

    return str(Variable.get(SLACK_CONN_VARIABLE, default="") or "").strip()


def send_to_slack(alert: Alert) -> bool:
    """Post `alert.text` to the configured Slack webhook; returns whether it was posted. Never raises."""
    try:
        conn_id = slack_conn_id()
        if not conn_id:
            return False
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        # The text is a context value, not a template: "{{" in an error message is sent as it is.
        notifier = SlackWebhookNotifier(
            slack_webhook_conn_id=conn_id,
            text="{{ sparkify_alert.text }}",
            timeout=SLACK_TIMEOUT_SECONDS,
            unfurl_links=False,
        )
        notifier({"sparkify_alert": alert})
        log.info("Alert posted to Slack (connection %s): %s", conn_id, alert.subject)
        return True
    except Exception as error:  # an alert must never fail the task or the run
        log.warning(
            "Could not post the alert %r to Slack: %s: %s",
            alert.subject,
            type(error).__name__,
            without_urls(str(error)),
        )
        return False


def without_urls(text: str) -> str:
    """`text` with every URL replaced: a webhook's URL carries its secret token."""
    return _URL.sub("<url>", text)
