"""The project's Airflow plugin: the late-run deadline reference, and the report's "Report" link."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sparkify.late_run import ScheduledIntervalEnd
from sparkify.report.link import ReportLink


class SparkifyPlugin(AirflowPlugin):
    name = "sparkify"
    deadline_references = [ScheduledIntervalEnd]
    operator_extra_links = [ReportLink()]  # sparkify_report's refresh_report sets it on its task
