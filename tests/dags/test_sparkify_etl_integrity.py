"""DAG integrity: the DAG imports cleanly, offline, with the promised shape and settings."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

from tests.support import PROJECT_ROOT

EXPECTED_UPSTREAM = {
    "begin": set(),
    "wait_for_log_data": {"begin"},
    "create_tables": {"wait_for_log_data"},
    "stage_events": {"create_tables"},
    "select_song_files": {"create_tables"},
    "stage_songs": {"select_song_files"},
    "load_songplays_fact": {"stage_events", "stage_songs"},
    "load_users_dim": {"load_songplays_fact"},
    "load_songs_dim": {"load_songplays_fact"},
    "load_artists_dim": {"load_songplays_fact"},
    "load_time_dim": {"load_songplays_fact"},
    "run_quality_checks": {"load_users_dim", "load_songs_dim", "load_artists_dim", "load_time_dim"},
    "publish": {"run_quality_checks"},
    "end": {"publish"},
    "drop_run_tables": {"create_tables", "publish"},
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags["sparkify_etl"]


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "sparkify_etl" in dagbag.dag_ids


def test_parsing_touches_no_network(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):
        raise AssertionError(f"DAG parsing opened a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    assert "sparkify_etl" in bag.dags


def test_task_order(dag):
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == EXPECTED_UPSTREAM


def test_the_run_tables_are_a_setup_and_teardown_pair(dag):
    """create_tables is the setup and drop_run_tables its teardown: clearing a task between them clears both,
    the teardown runs when its setup succeeded, whatever the work did, and it is left out of the run's state,
    so a failed run stays failed (with on_failure_fail_dagrun=True a successful teardown, the only leaf
    counted, would make a failed run succeed)."""
    setup, teardown = dag.get_task("create_tables"), dag.get_task("drop_run_tables")
    assert [t.task_id for t in dag.tasks if t.is_setup] == ["create_tables"] and setup.is_setup
    assert [t.task_id for t in dag.tasks if t.is_teardown] == ["drop_run_tables"]
    assert teardown.trigger_rule == "all_done_setup_success"
    assert teardown.on_failure_fail_dagrun is False
    assert teardown.pool == dag.get_task("create_tables").pool
    # every work task is inside the pair's scope, so clearing it re-runs create_tables first
    scope = set(setup.get_flat_relative_ids(upstream=False)) & set(teardown.get_flat_relative_ids(upstream=True))
    assert scope == set(EXPECTED_UPSTREAM) - {"begin", "wait_for_log_data", "create_tables", "end", "drop_run_tables"}
    assert "drop_run_tables" in dag.doc_md and "sparkify_keep_run_tables" in dag.doc_md


def test_a_failed_run_stays_failed_and_the_teardown_does_not_decide_the_runs_state(dag):
    """Airflow's own rule (DagRun._tis_for_dagrun_state) picks `end`, not the teardown, as the leaf."""
    from airflow.models.dagrun import DagRun

    class Ti:
        def __init__(self, task_id):
            self.task_id, self.state = task_id, None

    tis = [Ti(t.task_id) for t in dag.tasks]
    leaves = DagRun._tis_for_dagrun_state(DagRun(), dag=dag, tis=tis)
    assert {ti.task_id for ti in leaves} == {"end"}


def test_default_args(dag):
    for task in dag.tasks:
        assert task.owner == "sparkify-data-engineering"
        assert task.depends_on_past is False
        assert task.retries == 3
        assert task.retry_delay == timedelta(minutes=1)  # doubling: tests/dags/test_retry_defaults.py
        assert task.email_on_retry is False


def test_hourly_interval_schedule(dag):
    from airflow.sdk import CronDataIntervalTimetable

    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 * * * *"
    assert dag.start_date == pendulum.datetime(2018, 11, 1, tz="UTC")
    assert dag.catchup is False
    assert dag.max_active_runs == 4


def test_hourly_runs_get_one_hour_intervals(dag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    timetable = coerce_to_core_timetable(dag.timetable)
    interval = timetable.infer_manual_data_interval(run_after=pendulum.datetime(2018, 11, 15, 4, tz="UTC"))
    assert interval.end - interval.start == timedelta(hours=1)


def test_documentation_tags_and_params(dag):
    assert dag.doc_md and "Sparkify ETL" in dag.doc_md
    assert {"sparkify", "etl"} <= set(dag.tags)
    assert set(dag.params) >= {"window_start", "window_end"}
    assert dag.params["window_start"] is None


def test_settings_are_templated_variables_with_defaults(dag):
    stage_events = dag.get_task("stage_events")
    assert stage_events.s3_bucket == "{{ var.value.get('sparkify_s3_bucket', 'udacity-dend') }}"
    assert stage_events.s3_key.endswith("%Y/%m/%Y-%m-%d-events.json")
    assert "sparkify_log_jsonpath" in stage_events.copy_options["json_format"]
    assert "sparkify_redshift_conn_id" in stage_events.redshift_conn_id
    assert dag.get_task("stage_songs").copy_options["json_format"] == "auto"
    assert stage_events.object_cache.registry == "staged_object_cache"
    assert dag.get_task("stage_songs").object_cache is None


def test_stage_songs_copies_the_manifest_that_select_song_files_returns(dag):
    from airflow.sdk.definitions.xcom_arg import PlainXComArg

    select, stage_songs = dag.get_task("select_song_files"), dag.get_task("stage_songs")
    assert isinstance(stage_songs.manifest, PlainXComArg) and stage_songs.manifest.operator is select
    assert "manifest" in stage_songs.template_fields and stage_songs.s3_key is None
    assert stage_songs.staged_files_table == "{{ run_scoped('staging_song_files', run_id) }}"
    assert (select.ledger_table, select.full_refresh) == ("song_file_ledger", "{{ params.full_refresh }}")
    assert (
        select.manifest_location
        == "{{ var.value.get('sparkify_manifest_location', 's3://sparkify-staging/manifests/') }}"
    )


@pytest.mark.parametrize(
    ("run_type", "variables", "expected"),
    [
        ("backfill", {}, "15m"),
        ("backfill", {"sparkify_backfill_listing_max_age": "40m"}, "40m"),
        ("scheduled", {"sparkify_backfill_listing_max_age": "40m"}, "0"),
        ("manual", {}, "0"),
        ("asset_triggered", {}, "0"),
    ],
)
def test_only_backfill_runs_reuse_a_listing_of_the_song_catalogue(dag, run_type, variables, expected):
    import types

    import jinja2

    select = dag.get_task("select_song_files")
    assert select.listing_table == "song_file_listing" and "listing_max_age" in select.template_fields
    var = types.SimpleNamespace(value=types.SimpleNamespace(get=lambda name, default: variables.get(name, default)))
    rendered = jinja2.Template(select.listing_max_age).render(var=var, dag_run=types.SimpleNamespace(run_type=run_type))
    assert rendered == expected


def test_write_audit_publish_loads_write_shadows_and_publish_locks_in_one_order(dag):
    assert dag.get_task("load_songplays_fact").table == "{{ run_scoped('songplays', run_id) }}"
    for table in ("users", "songs", "artists", "time"):
        task = dag.get_task(f"load_{table}_dim")
        assert task.table == f"{{{{ run_scoped('{table}', run_id) }}}}"
        assert task.mode == "truncate-insert"  # the shadow holds exactly what this attempt would merge
    publish = dag.get_task("publish")
    assert publish.lock_order == ["songplays", "users", "songs", "artists", "time", "song_file_ledger"]
    assert dag.get_task("run_quality_checks").read_order == ("songplays", "users", "songs", "artists", "time")
    statements = publish.build_statements()
    assert statements[:6] == [f'LOCK TABLE "{t}"' for t in publish.lock_order]
    assert statements[-2].startswith("DELETE FROM song_file_ledger")  # the ledger commits with songs and artists
    assert (
        "LOCK TABLE" in dag.doc_md
        and "songplays`, `users`, `songs`, `artists`, `time`, `song_file_ledger`" in dag.doc_md
    )


def test_copy_takes_its_iam_role_from_the_variable_that_import_dwh_cfg_writes(dag):
    # tests/unit/test_dwh_cfg.py checks that the import writes AIRFLOW_VAR_SPARKIFY_REDSHIFT_IAM_ROLE.
    for task_id in ("stage_events", "stage_songs"):
        assert dag.get_task(task_id).iam_role == "{{ var.value.get('sparkify_redshift_iam_role', '') }}"
        assert "iam_role" in dag.get_task(task_id).template_fields


def test_the_checks_ddl_and_sql_files_are_valid_before_any_run(dag):
    """Parsing the DAG reads no check or DDL file (the tasks do, when they run); this test reads them, so
    a bad check, DDL statement or missing SQL file is reported before a run."""
    from sparkify.ddl import split_statements, table_columns

    audit = dag.get_task("run_quality_checks")
    checks = audit.checks_file.load()  # compiled against the DDL, with the DAG's publications
    assert len(checks) >= 10 and audit.checks == checks
    assert {c.table for c in checks} >= {"songplays", "users", "songs", "time"}
    ddl = (PROJECT_ROOT / "include" / "sql" / "create_tables.sql").read_text()
    assert len(split_statements(ddl)) >= 10
    assert {"song_file_ledger", "staging_tables", "dq_results"} <= set(table_columns(ddl))
    searchpath = [Path(p) for p in dag.template_searchpath]
    for task in dag.tasks:  # DagBag has replaced every .sql template field by the file's text
        for field in task.template_fields:
            value = getattr(task, field)
            assert not (isinstance(value, str) and value.endswith(".sql")), f"{task.task_id}.{field}: {value} not found"
    for publication in dag.get_task("publish").publications:
        if publication.condition and publication.condition.endswith(".sql"):
            assert any((p / publication.condition).is_file() for p in searchpath), publication.condition


def test_stage_events_renders_the_copy_options_its_cached_copies_are_signed_with(dag):
    """The object cache signs each copy with the COPY options' text (sparkify.s3copy.cached_staging):
    stage_events, rendered with the Variables' defaults, must keep rendering exactly this text, or every
    cached day file is COPYed again."""
    import copy
    import types

    import jinja2

    from sparkify.config import DEFAULTS
    from sparkify.staging import run_scoped

    task = copy.deepcopy(dag.get_task("stage_events"))
    var = types.SimpleNamespace(value=types.SimpleNamespace(get=lambda name, default: default))
    task.render_template_fields({"var": var, "run_id": "manual__1", "run_scoped": run_scoped}, jinja2.Environment())
    options = task.build_spec([pendulum.date(2018, 11, 15)]).options
    jsonpaths = f"s3://{DEFAULTS['sparkify_s3_bucket']}/{DEFAULTS['sparkify_log_jsonpath']}"
    assert options.sql() == (
        f"FORMAT AS JSON '{jsonpaths}' REGION 'us-west-2' TIMEFORMAT 'epochmillisecs' "
        "BLANKSASNULL EMPTYASNULL TRUNCATECOLUMNS COMPUPDATE OFF STATUPDATE ON"
    )
