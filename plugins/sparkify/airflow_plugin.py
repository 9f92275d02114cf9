"""The project's Airflow plugin: the late-run deadline reference, the "Report" and "Quality results" links
and the API server's route that opens their pages (sparkify.pages)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sparkify.late_run import ScheduledIntervalEnd
from sparkify.pages.mount import PagesApp
from sparkify.pages.urls import URL_PREFIX
from sparkify.report.link import QualityResultsLink, ReportLink


class SparkifyPlugin(AirflowPlugin):
    name = "sparkify"
    deadline_references = [ScheduledIntervalEnd]
    # sparkify_report's refresh_report sets the first on its task; DataQualityOperator declares the second.
    operator_extra_links = [ReportLink(), QualityResultsLink()]
    fastapi_apps = [{"app": PagesApp(), "url_prefix": URL_PREFIX, "name": "Sparkify pages"}]
