"""Where a task keeps the S3 URI of the page it wrote, and how the page's object is named.

The task's extra link (on the worker) and the API server's route (sparkify.pages.app) both read
this: the route opens only an object named as its writer names it, so an XCom that names any other
object opens nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sparkify.quality_page import QUALITY_FOLDER, quality_page_name
from sparkify.quality_page import XCOM_KEY as QUALITY_XCOM_KEY
from sparkify.report.storage import REPORT_NAME


@dataclass(frozen=True)
class S3Object:
    """An object named by `s3://[conn_id@]bucket/key`; `conn_id` None when the URI names no connection."""

    bucket: str
    key: str
    conn_id: str | None


@dataclass(frozen=True)
class PageSource:
    """One kind of page: its name in URLs, the XCom key of its URI, and the test of its object's name."""

    name: str
    title: str
    xcom_key: str
    uri_in: Callable[[Any], Any]  # the URI in the XCom value
    named_right: Callable[[str, str], bool]  # (key, run id): the object is this run's page

    def page_object(self, pushed: Any, run_id: str) -> S3Object | None:
        """The page the XCom value `pushed` names, or None when it names no page of this kind."""
        found = s3_object(self.uri_in(pushed))
        return found if found is not None and self.named_right(found.key, run_id) else None


def s3_object(uri: Any) -> S3Object | None:
    """The object an `s3://` (or `s3a://`) URI names; None for anything else."""
    if not isinstance(uri, str):
        return None
    parts = urlsplit(uri)
    conn_id, _, bucket = parts.netloc.rpartition("@")
    key = parts.path.lstrip("/")
    if parts.scheme not in ("s3", "s3a") or not bucket or not key:
        return None
    return S3Object(bucket, key, conn_id or None)


def _report_path(pushed: Any) -> Any:
    return pushed.get("path") if isinstance(pushed, dict) else None  # refresh_report returns {"path", "rows"}


REPORT = PageSource(
    name="report",
    title="report",
    xcom_key="return_value",
    uri_in=_report_path,
    named_right=lambda key, run_id: bool(REPORT_NAME.match(posixpath.basename(key))),
)
QUALITY = PageSource(
    name="quality",
    title="data quality page",
    xcom_key=QUALITY_XCOM_KEY,
    uri_in=lambda pushed: pushed,
    named_right=lambda key, run_id: key.split("/")[-2:] == [QUALITY_FOLDER, quality_page_name(run_id)],
)
PAGES = {page.name: page for page in (REPORT, QUALITY)}
