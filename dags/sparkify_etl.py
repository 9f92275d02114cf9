"""
### Sparkify ETL

Every hour, this DAG loads Sparkify's song-play logs and song catalogue from S3 into Redshift's
star schema (`songplays`, `users`, `songs`, `artists`, `time`), auditing each hour before publishing it.

**Load a window.** **Trigger → Single Run**; under *Run Parameters* give *Window start (UTC)* and
*Window end (UTC, exclusive)*, e.g. `2018-11-15T07:00:00Z` and `2018-11-15T08:00:00Z` (the local
sample is November 2018), and press **Trigger**. Leave both empty for the hour of the run's logical
date. A bad window fails the run at once with one line, shown as its note.

**Where the results are.**
- **The star schema tables** in the warehouse (`make summary` on the local stack).
- **The run's note** (grid and run list): the window it loaded, e.g. `window 2018-11-15 07:00–08:00 UTC`,
  or the one line saying why it stopped (a bad window; on the local stack, an hour after the bucket's
  data, which fails at once instead of waiting for late data: Variable `sparkify_data_complete`).
- **load_songplays_fact's log**: how many rows stage_events staged (its day files) and how many are in the window.
- **The data quality checks**: the task `run_quality_checks` has, on its *Details* tab, a **Quality
  results** button (an extra link) that opens the run's page of every check and its result, also
  when one failed; the same are in run_quality_checks' log and in the table `dq_results`.
- **The Report**: the DAG `sparkify_report` runs after each published run; in its run, the task
  `refresh_report` has, on its *Details* tab, a **Report** button (an extra link) that opens the
  analytics page.

The full reference is `docs/dag.md` (and `docs/airflow-services.md` for the UI). In short:

#### How it works

**Write-Audit-Publish**: the run builds its window in shadow tables, audits them, and only
then publishes them, so data that fails a check never reaches the star schema.

```
begin → wait_for_log_data → create_tables → stage_events ∥ (select_song_files → stage_songs)
      → load_songplays_fact
      → load_users_dim ∥ load_songs_dim ∥ load_artists_dim ∥ load_time_dim
      → run_quality_checks → publish → end
                                          ↘ drop_run_tables   (teardown of create_tables, a setup)
```

0. **wait_for_log_data** waits, deferred in the triggerer, for the window's day files
   (`log_data/YYYY/MM/YYYY-MM-DD-events.json`, one per UTC day the window touches) until the
   window's end plus `sparkify_late_data_timeout` (default 2h), then fails naming the missing
   files. Files that are there pass at once; an old window (a backfill) never waits.
1. **create_tables** creates the staging and star-schema tables if they are missing, and the
   run's own copies: of the staging tables, and the **shadow tables** of `songplays`, `users`,
   `songs`, `artists` and `time` (`<table>__r<hash of run_id>`). Runs may overlap. It is the
   **setup** of **drop_run_tables**, its teardown (see Retention).
2. **stage_events** COPYs the day files of the run's window
   (`log_data/YYYY/MM/YYYY-MM-DD-events.json`), each once: it keeps a copy of a day file's rows in
   the warehouse (`staged_object_cache`), and the day's other runs insert those instead of COPYing
   the file again (a changed file, by ETag and size, is COPYed again). **select_song_files**
   selects the song files under `song_data/` that are new or changed since `song_file_ledger`
   recorded them (all of them when the run is triggered with `full_refresh`), writes the manifest
   of exactly those and passes its `s3://` URI to **stage_songs** (XCom), which COPYs it and
   records the files it staged in the same transaction. Each stage task runs one
   `COPY ... MANIFEST`. select_song_files keeps its listing of `song_data/` in
   `song_file_listing` and compares it with the ledger there; a **backfill** run reuses a listing
   younger than `sparkify_backfill_listing_max_age` (default 15m; `0`: list every run) instead
   of listing the catalogue again, so a song file uploaded during a backfill waits for a later
   listing. Scheduled and manual runs always list.
3. **Write.** **load_songplays_fact** writes the window's songplays into the run's shadow of
   `songplays`, and logs how many rows stage_events staged and how many of them are in the window
   ("N source rows staged, M in the window …", `include/sql/staged_rows_in_window.sql`); the four
   dimension loads write the rows the run would merge into `users`, `songs`, `artists` and `time`
   into their shadows. Nothing published changes.
4. **Audit.** **run_quality_checks** runs the checks declared in `include/quality_checks.yaml`
   against what publishing would produce: the window's rows and the keys they reference, never a
   whole published table, so an hour costs the same however long the history. It records every
   result in `dq_results` and fails on any failed check of severity `error`. Then **publish** does
   not run and the star schema is untouched. What needs all history (a songplay_id in two windows,
   old rows) is checked daily by the DAG `sparkify_audit`, whose failures never stop a publish.
5. **Publish.** **publish** applies the window in one transaction: `LOCK TABLE` on, in this order,
   `songplays`, `users`, `songs`, `artists`, `time`, `song_file_ledger`; replaces the window's
   songplays; merges the four dimensions; and records the staged song files in
   `song_file_ledger`. Nothing is visible before the commit, all of it after; a file is recorded
   only when its songs and artists commit with it.
6. **end** emits the Asset `sparkify_star_schema` (`sparkify://warehouse/star_schema`);
   the `sparkify_report` DAG is scheduled on it.

**Window.** A scheduled or backfill run processes its data interval [start, end).
A manual run processes the hour that contains its logical date, unless it is
triggered with both `window_start` and `window_end` (ISO 8601, UTC), which may
span up to 31 days (Airflow Variable `sparkify_max_window_days`, a positive number of days).

**Retention.** **drop_run_tables** drops the run's 8 staging and shadow tables when the run ends,
successful or failed, so the warehouse holds at most 8 run tables per queued or running run. It is
create_tables' teardown: clearing a task between them re-runs create_tables first and the teardown
after; a failed run still shows failed (the teardown does not count in the run's state). The tables
of a failed run are kept for inspection only when the Variable `sparkify_keep_run_tables` is
`failed` (`all` keeps every run's; default `none`), for at most the 10 most recently ended kept runs.
Leftovers (a kept run, a run whose teardown never ran) are dropped by a later run's create_tables once
unused for `sparkify_staging_retention_hours` (default 48, at least 1), never while their run is
queued or running; that check and the drops hold `LOCK TABLE staging_tables`, which each run's
create_tables and teardown also take. Tables a teardown dropped are created anew only when the tasks
that fill them run again: clear from the stage tasks on (or keep failed runs' tables).
The day-file copies in `staged_object_cache` are dropped when unused for 48 hours.
A bad value of these Variables fails the run at once.

**Settings** are Airflow Variables with defaults: `sparkify_s3_bucket` (udacity-dend),
`sparkify_log_prefix` (log_data/), `sparkify_song_prefix` (song_data/),
`sparkify_log_jsonpath` (log_json_path.json), `sparkify_s3_region` (us-west-2),
`sparkify_redshift_conn_id` (redshift), `sparkify_aws_conn_id` (aws_default),
`sparkify_manifest_location` (s3://sparkify-staging/manifests/), where stage_events and
select_song_files write the COPY manifests of the objects they selected (stage_events deletes its
own after the load; select_song_files' are kept 48 hours, for retries), and
`sparkify_redshift_iam_role` (empty), the ARN of the role Redshift assumes for COPY.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, chain, task

from sparkify.assets import SPARKIFY_STAR_SCHEMA
from sparkify.config import backfill_variable_template, variable_template
from sparkify.dag_defaults import dag_default_args
from sparkify.late_run import late_run_alert_definition
from sparkify.operators import (
    DataQualityOperator,
    LoadDimensionOperator,
    LoadFactOperator,
    Publication,
    PublishOperator,
    SelectNewObjectsOperator,
    StageToRedshiftOperator,
    WindowFilesSensor,
)
from sparkify.pools import WAREHOUSE_POOL
from sparkify.quality_config import QualityChecksFile
from sparkify.retry_policy import fail_at_once_on
from sparkify.s3copy.cached_staging import CachedStaging
from sparkify.staging import run_scoped
from sparkify.window import WindowRefused

INCLUDE = Path(__file__).resolve().parents[1] / "include"
SQL_DIR = INCLUDE / "sql"
WAREHOUSE = variable_template("sparkify_redshift_conn_id")
AWS = variable_template("sparkify_aws_conn_id")
COPY_ROLE = variable_template("sparkify_redshift_iam_role")
BUCKET = variable_template("sparkify_s3_bucket")
MANIFESTS = variable_template("sparkify_manifest_location")
REGION = variable_template("sparkify_s3_region")
LOG_DAY_FILES = variable_template("sparkify_log_prefix") + "%Y/%m/%Y-%m-%d-events.json"  # one per UTC day of the window
STAGING_TABLES = ("staging_events", "staging_songs", "staging_song_files")
# Backfill runs reuse a listing of the song catalogue younger than this; other runs always list it.
SONG_LISTING_MAX_AGE = backfill_variable_template("sparkify_backfill_listing_max_age", otherwise="0")


def run_table(base: str) -> str:
    """The template naming this run's copy of a staging or star-schema (shadow) table."""
    return f"{{{{ run_scoped('{base}', run_id) }}}}"


# Write-Audit-Publish: how each star-schema table takes its run's shadow copy. The order is the
# one lock order of the warehouse: publish locks these tables in it, then song_file_ledger; the
# audit reads them in it; create_tables creates the shadows (which reads their tables) in it.
PUBLICATIONS = (
    Publication("songplays", run_table("songplays"), window_column="start_time"),
    Publication("users", run_table("users"), key="user_id", condition="users_publish_condition.sql"),
    Publication("songs", run_table("songs"), key="song_id"),
    Publication("artists", run_table("artists"), key="artist_id"),
    # time's keys are the window's start_times: its merge reads only the window's range (the sort key)
    Publication("time", run_table("time"), key="start_time", key_in_window=True),
)
LEDGER = "song_file_ledger"
RUN_TABLES = (*STAGING_TABLES, *(p.table for p in PUBLICATIONS))
# Tasks after create_tables that read none of the run's tables: a re-run need not include them
# (stage_songs reads select_song_files' manifest again).
READS_NO_RUN_TABLES = ("select_song_files",)
# Task states in which a task does not run again unless it is cleared.
FINISHED = ("success", "failed", "upstream_failed", "skipped")
log = logging.getLogger(__name__)


# What the window params accept: an ISO 8601 date or date-time, with an optional UTC offset.
ISO_INSTANT = r"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?\s*$"

# Transient errors retry with exponential backoff; deterministic ones raise AirflowFailException.
default_args = dag_default_args()

with DAG(
    dag_id="sparkify_etl",
    description="Hourly: S3 JSON logs and songs into Redshift's star schema (songplays, users, songs, artists, time), "
    "audited before it is published",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2018, 11, 1, tz="UTC"),
    catchup=False,
    # Each run stages into its own tables and dimension merges lock their table, so
    # runs may overlap; 4 keeps a backfill busy on a small cluster without starving it.
    max_active_runs=4,
    default_args=default_args,
    deadline=late_run_alert_definition(),  # a scheduled run not done sparkify_late_run_minutes after its interval
    template_searchpath=[str(SQL_DIR)],
    user_defined_macros={"run_scoped": run_scoped},
    params={
        "window_start": Param(
            None,
            type=["null", "string"],
            pattern=ISO_INSTANT,
            title="Window start (UTC)",
            description_md="Optional: the first instant of a custom window, ISO 8601 "
            "(`YYYY-MM-DDTHH:MM[:SS]`, optional `Z` or `+HH:MM`; UTC when no offset is given), "
            "e.g. `2018-11-15T07:00:00Z`. Give both start and end, or leave both empty to process "
            "the hour that contains the run's logical date.",
        ),
        "window_end": Param(
            None,
            type=["null", "string"],
            pattern=ISO_INSTANT,
            title="Window end (UTC, exclusive)",
            description_md="Optional: the end of the custom window, excluded, in the same format, "
            "e.g. `2018-11-15T08:00:00Z` for the single hour 07:00-08:00. At most 31 days after the "
            "start (Airflow Variable `sparkify_max_window_days`).",
        ),
        "full_refresh": Param(
            False,
            type=["null", "boolean"],  # "null" too: the trigger form marks any other type required (red *)
            title="Full refresh of the song catalogue",
            description="Stage every song file, not only the new or changed ones recorded in song_file_ledger.",
        ),
    },
    tags=["sparkify", "etl", "redshift"],
) as dag:

    @task(task_id="begin", retry_policy=fail_at_once_on(WindowRefused))
    def begin(**context) -> dict[str, str]:
        """Validate the run's window before anything is loaded, and show it as the run's note.

        An unusable window fails the run at once with one line, the first this task logs and the
        run's note, and no traceback (WindowRefused).
        """
        import logging

        from airflow.sdk.exceptions import AirflowFailException

        from sparkify.run_note import set_run_note
        from sparkify.window import run_window

        try:
            window = run_window(context, check_settings=True)
        except AirflowFailException as failure:
            logging.getLogger("sparkify.begin").error("%s", failure)
            set_run_note(context, str(failure))
            raise WindowRefused(str(failure)) from None
        set_run_note(context, window.note())
        return {"window_start": window.start.isoformat(), "window_end": window.end.isoformat()}

    @task(task_id="create_tables", pool=WAREHOUSE_POOL)
    def create_tables(conn_id: str, run_id: str | None = None, **context) -> list[str]:
        """Setup: apply the idempotent DDL in include/sql/create_tables.sql when one of its tables is missing;
        create this run's staging and shadow tables.

        Under `LOCK TABLE staging_tables`, other runs' leftovers are dropped once unused for the retention
        (Variable `sparkify_staging_retention_hours`, at least 1 hour), unless their run is queued or running.
        Tables this run's teardown dropped are created anew only when every task after this one is about to
        run again (a task cleared with its downstream tasks, from the stage tasks on): otherwise the cleared
        tasks would read empty tables, and publish could replace the window's rows with nothing.
        """
        from airflow.sdk import Variable
        from airflow.sdk.exceptions import AirflowFailException

        from sparkify.ddl import create_missing_tables
        from sparkify.staging import (
            DEFAULT_RETENTION_HOURS,
            KEEP_VARIABLE,
            RETENTION_VARIABLE,
            StagingSettingError,
            parse_keep_mode,
            parse_retention_hours,
            prepare_run_staging,
        )
        from sparkify.warehouse import transaction, warehouse_hook

        try:
            retention = parse_retention_hours(Variable.get(RETENTION_VARIABLE, default=DEFAULT_RETENTION_HOURS))
            parse_keep_mode(Variable.get(KEEP_VARIABLE, default="none"))  # the teardown reads it: refuse it now
        except StagingSettingError as error:
            raise AirflowFailException(str(error)) from None  # retrying cannot fix a setting
        ti, dag_id, task = context["ti"], context["dag"].dag_id, context["task"]

        def active_runs(run_ids: list[str]) -> list[str]:
            return [r for r in run_ids if ti.get_dr_count(dag_id=dag_id, run_ids=[r], states=["queued", "running"])]

        def refuse_partial_rerun(missing: list[str]) -> None:
            after = sorted(
                t.task_id
                for t in task.get_flat_relatives(upstream=False)
                if not t.is_teardown and t.task_id not in READS_NO_RUN_TABLES
            )
            states = ti.get_task_states(dag_id=dag_id, task_ids=after, run_ids=[str(run_id)]).get(str(run_id), {})
            done = sorted(t for t in after if states.get(t) in FINISHED)
            if done:
                raise AirflowFailException(
                    f"This run's tables {', '.join(missing)} were dropped when it ended, and {', '.join(done)} "
                    "would not run again to fill them: clear stage_events and stage_songs with their downstream "
                    "tasks (or the whole run), or set the Variable sparkify_keep_run_tables to keep a failed "
                    "run's tables."
                )

        hook = warehouse_hook(conn_id, application_name=f"{dag_id}.{ti.task_id}")
        create_missing_tables(hook, (SQL_DIR / "create_tables.sql").read_text())
        with transaction(hook) as cursor:
            return prepare_run_staging(
                cursor, list(RUN_TABLES), str(run_id), retention, active_runs, on_missing=refuse_partial_rerun
            )

    @task(task_id="drop_run_tables", pool=WAREHOUSE_POOL)
    def drop_run_tables(conn_id: str, run_id: str | None = None, **context) -> dict[str, list[str]]:
        """Teardown: drop this run's staging and shadow tables when the run ends, successful or not.

        With the Variable `sparkify_keep_run_tables` set to `failed` (or `all`), a failed run's (every
        run's) tables are kept for inspection instead, for at most KEPT_RUNS_LIMIT runs, the most recent,
        and until the retention sweep of a later run's create_tables drops them.
        """
        from airflow.sdk import Variable

        from sparkify.staging import KEEP_VARIABLE, StagingSettingError, parse_keep_mode, teardown_run_staging
        from sparkify.warehouse import transaction, warehouse_hook

        ti, dag_id = context["ti"], context["dag"].dag_id
        try:
            mode = parse_keep_mode(Variable.get(KEEP_VARIABLE, default="none"))
        except StagingSettingError as error:
            log.warning("%s Dropping the run's tables.", error)  # the bound wins; create_tables fails on it
            mode = "none"
        failed = False
        if mode == "failed":
            states = ti.get_task_states(dag_id=dag_id, run_ids=[str(run_id)]).get(str(run_id), {})
            failed = any(state in ("failed", "upstream_failed") for t, state in states.items() if t != ti.task_id)

        def active_runs(run_ids: list[str]) -> list[str]:
            return [r for r in run_ids if ti.get_dr_count(dag_id=dag_id, run_ids=[r], states=["queued", "running"])]

        hook = warehouse_hook(conn_id, application_name=f"{dag_id}.{ti.task_id}")
        with transaction(hook) as cursor:
            result = teardown_run_staging(
                cursor, list(RUN_TABLES), str(run_id), keep=mode == "all" or failed, active_runs=active_runs
            )
        log.info("Dropped %d run tables; kept %d for inspection.", len(result["dropped"]), len(result["kept"]))
        return result

    # Late data: wait in the triggerer for the window's day files (sparkify/late_data.py).
    wait_for_log_data = WindowFilesSensor(
        task_id="wait_for_log_data",
        s3_bucket=BUCKET,
        s3_key=LOG_DAY_FILES,
        region_name=REGION,
        aws_conn_id=AWS,
    )

    # The COPY options both loads share: the bucket's region, Redshift's NULL and truncation rules for
    # the JSON, no compression analysis, and statistics on the staged rows (STATUPDATE ON): the fact
    # load joins them, and without statistics the planner may choose a nested loop over the whole window.
    copy_options: dict[str, Any] = dict(
        blanks_as_null=True,
        empty_as_null=True,
        truncate_columns=True,
        region=REGION,
        compupdate=False,
        statupdate=True,
    )
    # And the rest: the warehouse, its pool, and the connection and role COPY reads S3 with.
    stage_args: dict[str, Any] = dict(
        redshift_conn_id=WAREHOUSE,
        pool=WAREHOUSE_POOL,
        aws_conn_id=AWS,
        iam_role=COPY_ROLE,
    )

    stage_events = StageToRedshiftOperator(
        task_id="stage_events",
        table=run_table("staging_events"),
        s3_bucket=BUCKET,
        s3_key=LOG_DAY_FILES,
        copy_options={
            **copy_options,
            "json_format": f"s3://{BUCKET}/{variable_template('sparkify_log_jsonpath')}",
            "timeformat": "epochmillisecs",
        },
        manifest_location=MANIFESTS,
        object_cache=CachedStaging("staged_object_cache"),  # a day file is COPYed once, not once per hour
        **stage_args,
    )

    # The song files new or changed since the ledger recorded them, as a manifest whose URI goes to XCom.
    select_song_files = SelectNewObjectsOperator(
        task_id="select_song_files",
        s3_bucket=BUCKET,
        s3_key=variable_template("sparkify_song_prefix"),
        ledger_table=LEDGER,
        manifest_location=MANIFESTS,
        full_refresh="{{ params.full_refresh }}",
        listing_table="song_file_listing",
        listing_max_age=SONG_LISTING_MAX_AGE,
        region=REGION,
        redshift_conn_id=WAREHOUSE,
        aws_conn_id=AWS,
        pool=WAREHOUSE_POOL,  # it writes song_file_listing
    )

    stage_songs = StageToRedshiftOperator(
        task_id="stage_songs",
        table=run_table("staging_songs"),
        manifest=select_song_files.output,  # type: ignore[arg-type]  # an XComArg, rendered to its URI
        copy_options={**copy_options, "json_format": "auto"},
        staged_files_table=run_table("staging_song_files"),
        **stage_args,
    )

    # Write: the fact and dimension loads fill the run's shadow tables; nothing published changes.
    load_songplays_fact = LoadFactOperator(
        task_id="load_songplays_fact",
        table=run_table("songplays"),
        sql="songplays_select.sql",
        skipped_rows_sql="songplays_skipped.sql",
        source_rows_sql="staged_rows_in_window.sql",  # logs "N source rows staged, M in the window ..."
        time_column="start_time",
        redshift_conn_id=WAREHOUSE,
        pool=WAREHOUSE_POOL,
    )

    dimensions = [
        LoadDimensionOperator(  # the shadow holds exactly the rows this attempt would merge
            task_id=f"load_{p.table}_dim",
            table=p.shadow,
            sql=f"{p.table}_select.sql",
            mode="truncate-insert",
            key=p.key,
            redshift_conn_id=WAREHOUSE,
            pool=WAREHOUSE_POOL,
        )
        for p in PUBLICATIONS
        if not p.is_fact
    ]

    # Audit: the checks read what publishing would produce; a failed `error` check stops the run here.
    run_quality_checks = DataQualityOperator(
        task_id="run_quality_checks",
        checks=QualityChecksFile(
            INCLUDE / "quality_checks.yaml", SQL_DIR, SQL_DIR / "create_tables.sql", PUBLICATIONS
        ),  # read when the task runs; tests/dags validates it
        read_order=[p.table for p in PUBLICATIONS],
        redshift_conn_id=WAREHOUSE,
        results_page_location=variable_template("sparkify_report_location"),  # its "Quality results" link
        aws_conn_id=AWS,
        pool=WAREHOUSE_POOL,  # it writes dq_results
    )

    # Publish: one transaction, locks in the documented order; the ledger records the song files
    # together with the songs and artists derived from them.
    publish = PublishOperator(
        task_id="publish",
        publications=PUBLICATIONS,
        post_sql="song_file_ledger_update.sql",
        lock_also=[LEDGER],
        redshift_conn_id=WAREHOUSE,
        pool=WAREHOUSE_POOL,
    )

    end = EmptyOperator(task_id="end", outlets=[SPARKIFY_STAR_SCHEMA])  # schedules sparkify_report

    run_tables = create_tables(WAREHOUSE, run_id="{{ run_id }}")
    chain(begin(), wait_for_log_data, run_tables, [stage_events, select_song_files])
    select_song_files >> stage_songs  # as the manifest's XComArg implies
    chain([stage_events, stage_songs], load_songplays_fact, dimensions, run_quality_checks, publish, end)
    # Setup and teardown: clearing any task from create_tables to publish clears both, and
    # drop_run_tables runs once the work is done, whether it succeeded or failed. A teardown is left out
    # of the run's state (on_failure_fail_dagrun=False): a failed run stays failed, and a teardown that
    # fails leaves a successful run successful (the retention sweep collects what it left).
    publish >> drop_run_tables(WAREHOUSE, run_id="{{ run_id }}").as_teardown(
        setups=run_tables,  # type: ignore[arg-type]  # an XComArg, as in Airflow's TaskFlow examples
        on_failure_fail_dagrun=False,
    )
