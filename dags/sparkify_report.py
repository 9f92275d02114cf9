"""
### Sparkify report

Refreshes the analytics report whenever `sparkify_etl` has loaded and checked the star
schema: this DAG is scheduled on the Asset `sparkify_star_schema`, which `sparkify_etl`'s
`end` task emits.

**refresh_report** runs every query in `include/sql/analytics/` on the warehouse
(connection `sparkify_redshift_conn_id`, default `redshift`), logs each answer as a
table and writes one self-contained page with a chart per question,
`sparkify_report_<UTC time>.html`, through Airflow's `ObjectStoragePath` to the location
named by the Variable `sparkify_report_location` (default `s3://sparkify-staging/reports/`,
with the AWS connection `sparkify_aws_conn_id` unless the URL names one:
`s3://<conn_id>@bucket/prefix/`). Nothing lands on the worker's disk, so any worker can run
it. The page's path and row counts go to XCom, and the task's **Report** button (an extra link)
opens the page through the API server, which checks the user may read this DAG and redirects to
a presigned URL of the object, valid 10 minutes. `make report FETCH=latest` downloads the newest
page; `make report` writes the same page from the terminal.

The DAG is created unpaused, so it follows every published run of `sparkify_etl`.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, task

from sparkify.assets import SPARKIFY_STAR_SCHEMA
from sparkify.config import variable_template
from sparkify.dag_defaults import dag_default_args
from sparkify.report.link import ReportLink

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ANALYTICS_SQL = PROJECT_ROOT / "include" / "sql" / "analytics"

default_args = dag_default_args(retries=2)  # a lost connection retries with backoff

with DAG(
    dag_id="sparkify_report",
    description="After each published hour: the analytics queries as an HTML report in S3",
    doc_md=__doc__,
    schedule=SPARKIFY_STAR_SCHEMA,
    start_date=pendulum.datetime(2018, 11, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,  # each published run of sparkify_etl refreshes the report
    max_active_runs=1,
    default_args=default_args,
    tags=["sparkify", "report", "analytics"],
) as dag:

    @task(task_id="refresh_report")
    def refresh_report(conn_id: str, location: str, aws_conn_id: str) -> dict:
        """Run the analytics queries, log them as tables and publish the HTML report to object storage."""
        from sparkify.report.refresh import build_report
        from sparkify.report.storage import publish_report, report_location
        from sparkify.report.text_table import format_results
        from sparkify.warehouse import transaction, warehouse_hook

        folder = report_location(location, aws_conn_id)  # a bad location fails before the queries run
        with transaction(warehouse_hook(conn_id)) as cursor:
            report = build_report(cursor, ANALYTICS_SQL, f"connection '{conn_id}'")
        print(format_results(report.results))
        path = publish_report(folder, report.page, report.generated_at)
        print(f"Report: {path}")
        return {"path": str(path), "rows": {result.query.name: len(result.rows) for result in report.results}}

    refresh_report(
        variable_template("sparkify_redshift_conn_id"),
        variable_template("sparkify_report_location"),
        variable_template("sparkify_aws_conn_id"),
    )
    dag.get_task("refresh_report").operator_extra_links = (ReportLink(),)  # the UI's "Report" button
