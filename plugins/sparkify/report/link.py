"""The "Report" button of `refresh_report` in the Airflow UI: a browser link to the page it wrote.

Airflow 3 computes an operator's extra links on the worker when the task ends and keeps them in
XCom; the UI only reads them. The link is made from the task's XCom (`{"path": "s3://…/….html"}`):
a presigned GET URL of the object, valid `REPORT_LINK_HOURS`, served as `text/html` so the browser
shows the page. On the local stack it points at the local S3 on 127.0.0.1, signed with the stack's
local keys; on AWS it carries a signature and the access key id of the connection (never the secret
key), and stops working when it expires (then `make report FETCH=latest`, or the S3 console).
A page outside S3 (a `file://` location) gets no link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

REPORT_LINK_HOURS = 24


def report_url(path: str, default_conn_id: str, expires_in_hours: float = REPORT_LINK_HOURS) -> str:
    """A browser URL of the page at `path` (`s3://[conn_id@]bucket/key`), or "" for a non-S3 path."""
    from urllib.parse import urlsplit

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.config import Config

    parts = urlsplit(path)
    if parts.scheme not in ("s3", "s3a") or not parts.hostname:
        return ""
    conn_id = parts.username or default_conn_id
    client = S3Hook(aws_conn_id=conn_id, config=Config(signature_version="s3v4")).get_conn()  # SigV4: a 7-day cap
    return client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": parts.hostname,
            "Key": parts.path.lstrip("/"),
            "ResponseContentType": "text/html; charset=utf-8",
        },
        ExpiresIn=int(expires_in_hours * 3600),
    )


class ReportLink(BaseOperatorLink):
    """The page `refresh_report` published, from its XCom."""

    name = "Report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        conn_id = (getattr(operator, "op_kwargs", None) or {}).get("aws_conn_id") or "aws_default"
        return link_for(XCom.get_value(ti_key=ti_key, key="return_value"), str(conn_id))


def link_for(returned: Any, default_conn_id: str) -> str:
    """The link for `refresh_report`'s XCom (`{"path": ..., "rows": ...}`); "" when it wrote no page."""
    path = returned.get("path") if isinstance(returned, dict) else None
    return report_url(str(path), default_conn_id) if path else ""  # the path names its connection anyway
