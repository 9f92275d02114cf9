"""
### Sparkify audit

Once a day, at 00:30 UTC, this DAG checks the whole star schema for what the hourly runs of
`sparkify_etl` do not read: an hourly run checks its window's rows and the keys they reference, so
that an hour costs the same however long the history.

**audit_star_schema** runs the `audit_checks` of `include/quality_checks.yaml` over the whole
published tables (`songplays`, `users`, `songs`, `artists`, `time`): no `songplay_id` in two
windows, every key of every songplay and song present in its dimension, and every user row valid.
It records each result in `dq_results` (the window is the 24 hours before the run) and fails,
listing every failed check with its observed value, when one of severity `error` fails; the
failure alert (`sparkify_alert_emails`, Slack) names this DAG.

It never stops a publish: nothing in `sparkify_etl` waits for it. It reads in one transaction,
so a publish that starts meanwhile waits for its table locks until the audit's reads end.
Which property is checked hourly and which here, and why: `docs/data-quality.md`.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable

from sparkify.config import variable_template
from sparkify.dag_defaults import dag_default_args
from sparkify.operators import DataQualityOperator
from sparkify.pools import WAREHOUSE_POOL
from sparkify.quality_config import QualityChecksFile

INCLUDE = Path(__file__).resolve().parents[1] / "include"
SQL_DIR = INCLUDE / "sql"
# The warehouse's one lock order (sparkify_etl's publications): the audit takes its read locks in it.
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")

with DAG(
    dag_id="sparkify_audit",
    description="Daily: the whole-table data quality checks of the star schema, apart from the hourly runs",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone="UTC"),  # between two hourly publishes
    start_date=pendulum.datetime(2018, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=dag_default_args(),
    tags=["sparkify", "audit", "data-quality"],
) as dag:
    DataQualityOperator(
        task_id="audit_star_schema",
        checks=QualityChecksFile(
            INCLUDE / "quality_checks.yaml", SQL_DIR, SQL_DIR / "create_tables.sql", section="audit_checks"
        ),  # read when the task runs; tests/dags validates it
        read_order=STAR_TABLES,
        redshift_conn_id=variable_template("sparkify_redshift_conn_id"),
        pool=WAREHOUSE_POOL,  # it writes dq_results
    )
