"""The project's Airflow plugin: it registers the late-run deadline reference with the scheduler and the API server."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sparkify.late_run import ScheduledIntervalEnd


class SparkifyPlugin(AirflowPlugin):
    name = "sparkify"
    deadline_references = [ScheduledIntervalEnd]
