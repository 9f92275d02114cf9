"""
### Sparkify ETL

Every hour, load Sparkify's S3 JSON into Redshift and build the star schema.

1. **create_tables** creates the staging and star-schema tables if they are missing.
2. **stage_events** and **stage_songs** COPY the day files of the run's window
   (`log_data/YYYY/MM/YYYY-MM-DD-events.json`) and the song catalogue (`song_data/`)
   into `staging_events` and `staging_songs`.
3. **load_songplays_fact** replaces the window's songplays in one transaction.
4. The four dimension loads merge `users`, `songs`, `artists` and `time`.
5. **run_quality_checks** runs the checks declared in `include/quality_checks.yaml`,
   records every result in `dq_results`, and fails on any failed check of severity `error`.

**Window.** A scheduled or backfill run processes its data interval [start, end).
A manual run processes the hour that contains its logical date, unless it is
triggered with both `window_start` and `window_end` (ISO 8601, UTC), which may
span up to 31 days (Airflow Variable `sparkify_max_window_days`).

**Settings** are Airflow Variables with defaults: `sparkify_s3_bucket` (udacity-dend),
`sparkify_log_prefix` (log_data/), `sparkify_song_prefix` (song_data/),
`sparkify_log_jsonpath` (log_json_path.json), `sparkify_s3_region` (us-west-2),
`sparkify_redshift_conn_id` (redshift) and `sparkify_aws_conn_id` (aws_default).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, chain, task

from sparkify.config import setting
from sparkify.operators import (
    DataQualityOperator,
    LoadDimensionOperator,
    LoadFactOperator,
    StageToRedshiftOperator,
)
from sparkify.quality_config import load_quality_checks

INCLUDE = Path(__file__).resolve().parents[1] / "include"
SQL_DIR = INCLUDE / "sql"
WAREHOUSE = setting("sparkify_redshift_conn_id")
AWS = setting("sparkify_aws_conn_id")
BUCKET = setting("sparkify_s3_bucket")

default_args = {
    "owner": "sparkify-data-engineering",
    "depends_on_past": False,
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "email_on_retry": False,
    "email_on_failure": False,
}

with DAG(
    dag_id="sparkify_etl",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2018, 11, 1, tz="UTC"),
    catchup=False,
    # The staging tables are shared by all runs, so two runs must not overlap.
    max_active_runs=1,
    default_args=default_args,
    template_searchpath=[str(SQL_DIR)],
    params={
        "window_start": Param(
            None, type=["null", "string"], title="Window start (UTC)",
            description="Optional. ISO 8601 start of a custom window, e.g. 2018-11-15T00:00:00Z. "
            "Give both start and end, or neither to process the run's hour.",
        ),
        "window_end": Param(
            None, type=["null", "string"], title="Window end (UTC, exclusive)",
            description="Optional. ISO 8601 end of the custom window, e.g. 2018-11-16T00:00:00Z.",
        ),
    },
    tags=["sparkify", "etl", "redshift"],
) as dag:

    @task(task_id="begin")
    def begin(**context) -> dict[str, str]:
        """Validate the run's window before anything is loaded."""
        from sparkify.window import run_window

        window = run_window(context)
        return {"window_start": window.start.isoformat(), "window_end": window.end.isoformat()}

    @task(task_id="create_tables")
    def create_tables(conn_id: str) -> int:
        """Apply the idempotent DDL in include/sql/create_tables.sql."""
        from sparkify.ddl import schema_statements
        from sparkify.warehouse import transaction, warehouse_dialect, warehouse_hook

        statements = schema_statements((SQL_DIR / "create_tables.sql").read_text(), warehouse_dialect(conn_id))
        with transaction(warehouse_hook(conn_id)) as cursor:
            for statement in statements:
                cursor.execute(statement)
        return len(statements)

    stage_events = StageToRedshiftOperator(
        task_id="stage_events",
        table="staging_events",
        s3_bucket=BUCKET,
        s3_key=setting("sparkify_log_prefix") + "%Y/%m/%Y-%m-%d-events.json",
        json_format=f"s3://{BUCKET}/{setting('sparkify_log_jsonpath')}",
        timeformat="epochmillisecs",
        blanks_as_null=True,
        empty_as_null=True,
        truncate_columns=True,
        region=setting("sparkify_s3_region"),
        compupdate=False,
        statupdate=False,
        redshift_conn_id=WAREHOUSE,
        aws_conn_id=AWS,
    )

    stage_songs = StageToRedshiftOperator(
        task_id="stage_songs",
        table="staging_songs",
        s3_bucket=BUCKET,
        s3_key=setting("sparkify_song_prefix"),
        json_format="auto",
        blanks_as_null=True,
        empty_as_null=True,
        truncate_columns=True,
        region=setting("sparkify_s3_region"),
        compupdate=False,
        statupdate=False,
        redshift_conn_id=WAREHOUSE,
        aws_conn_id=AWS,
    )

    load_songplays_fact = LoadFactOperator(
        task_id="load_songplays_fact",
        table="songplays",
        sql="songplays_select.sql",
        skipped_rows_sql="songplays_skipped.sql",
        time_column="start_time",
        redshift_conn_id=WAREHOUSE,
    )

    dimensions = [
        LoadDimensionOperator(
            task_id=f"load_{table}_dim",
            table=table,
            sql=f"{table}_select.sql",
            mode="merge",
            key=key,
            redshift_conn_id=WAREHOUSE,
        )
        for table, key in (("users", "user_id"), ("songs", "song_id"), ("artists", "artist_id"), ("time", "start_time"))
    ]

    run_quality_checks = DataQualityOperator(
        task_id="run_quality_checks",
        checks=load_quality_checks(INCLUDE / "quality_checks.yaml", SQL_DIR, SQL_DIR / "create_tables.sql"),
        redshift_conn_id=WAREHOUSE,
    )

    end = EmptyOperator(task_id="end")

    chain(
        begin(),
        create_tables(WAREHOUSE),
        [stage_events, stage_songs],
        load_songplays_fact,
        dimensions,
        run_quality_checks,
        end,
    )
