"""The UI's links to the pages tasks wrote: "Report" of `refresh_report`, "Quality results" of `run_quality_checks`.

Airflow 3 computes an operator's extra links on the worker when the task ends (failed or not) and
keeps them in XCom, so a link must hold no secret. Each is a URL of the API server's page route
(sparkify.pages.urls) naming the DAG, the run and the task; the route checks the user's access and
redirects to a short-lived presigned URL of the page (sparkify.pages.app). A task that wrote no
page in S3 (none yet, or a `file://` location) gets no link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

from sparkify.pages.sources import QUALITY, REPORT, PageSource
from sparkify.pages.urls import page_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class ReportLink(BaseOperatorLink):
    """The page `refresh_report` published (its return value's `path`)."""

    name = "Report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return page_link(REPORT, ti_key)


class QualityResultsLink(BaseOperatorLink):
    """The data quality page `run_quality_checks` wrote (XCom key `quality_results`); also when it failed."""

    name = "Quality results"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return page_link(QUALITY, ti_key)


def page_link(page: PageSource, ti_key: TaskInstanceKey) -> str:
    """The link to the task's page, or "" when its XCom names none (the UI then shows no button)."""
    from airflow.sdk.execution_time.xcom import XCom

    pushed = XCom.get_value(ti_key=ti_key, key=page.xcom_key)
    return page_url(page.name, ti_key) if page.page_object(pushed, ti_key.run_id) else ""
