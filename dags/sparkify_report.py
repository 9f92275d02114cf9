"""
### Sparkify report

Refreshes the analytics report whenever `sparkify_etl` has loaded and checked the star
schema: this DAG is scheduled on the Asset `sparkify_star_schema`, which `sparkify_etl`'s
`end` task emits.

**refresh_report** runs every query in `include/sql/analytics/` on the warehouse
(connection `sparkify_redshift_conn_id`, default `redshift`), logs each answer as a
table and replaces `sparkify_report.html`, one self-contained page with a chart per
question, in the folder named by the Variable `sparkify_report_dir` (default
`reports/` in the project folder). `make report` writes the same page from the terminal.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, task

from sparkify.assets import SPARKIFY_STAR_SCHEMA
from sparkify.config import variable_template
from sparkify.dag_defaults import dag_default_args

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ANALYTICS_SQL = PROJECT_ROOT / "include" / "sql" / "analytics"

default_args = dag_default_args(retries=2)  # a lost connection retries with backoff

with DAG(
    dag_id="sparkify_report",
    doc_md=__doc__,
    schedule=SPARKIFY_STAR_SCHEMA,
    start_date=pendulum.datetime(2018, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["sparkify", "report", "analytics"],
) as dag:

    @task(task_id="refresh_report")
    def refresh_report(conn_id: str, report_dir: str) -> dict:
        """Run the analytics queries, log them as tables and rewrite the HTML report."""
        from sparkify.report.refresh import refresh_report as refresh
        from sparkify.report.refresh import report_dir as resolve
        from sparkify.report.text_table import format_results
        from sparkify.warehouse import transaction, warehouse_hook

        source = f"connection '{conn_id}'"
        with transaction(warehouse_hook(conn_id)) as cursor:
            report = refresh(cursor, ANALYTICS_SQL, resolve(report_dir, PROJECT_ROOT), source)
        print(format_results(report.results))
        print(f"Report: {report.path}")
        return {"path": str(report.path), "rows": {result.query.name: len(result.rows) for result in report.results}}

    refresh_report(variable_template("sparkify_redshift_conn_id"), variable_template("sparkify_report_dir"))
