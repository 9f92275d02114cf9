"""OpenLineage facets of the operators, built without a warehouse: names, namespaces, assertions, odd input.

The failure hook is used where an operator is called here: it builds the same datasets as the
completion hook without the catalog query (tests/integration/test_lineage.py runs that one).
"""

from __future__ import annotations

import json
import os
from datetime import date

import pytest
from openlineage.client.serde import Serde

from sparkify import lineage
from sparkify.operators import (
    DataQualityOperator,
    LoadDimensionOperator,
    LoadFactOperator,
    Publication,
    PublishOperator,
    SelectNewObjectsOperator,
    StageToRedshiftOperator,
)
from sparkify.sql_check import SqlCheck
from tests.support import PROJECT_ROOT, render_sql

WAREHOUSE_CONN = json.loads(os.environ["AIRFLOW_CONN_REDSHIFT"])
NAMESPACE = f"redshift://{WAREHOUSE_CONN['host']}:{WAREHOUSE_CONN['port']}"


def names(datasets) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def table(name: str) -> tuple[str, str]:
    return NAMESPACE, f"dev.public.{name}"


def test_the_namespace_comes_from_the_connection_without_its_credentials():
    warehouse = lineage.Warehouse.from_connection("redshift")
    assert (warehouse.namespace, warehouse.database) == (NAMESPACE, "dev")
    assert WAREHOUSE_CONN["login"] not in warehouse.namespace and WAREHOUSE_CONN["password"] not in warehouse.namespace
    assert warehouse.name("songplays") == "dev.public.songplays"
    assert warehouse.name("dw.songplays") == "dev.dw.songplays"
    assert warehouse.name('"dw"."songplays"') == "dev.dw.songplays"


def test_a_cluster_endpoint_gives_the_providers_cluster_and_region_namespace(monkeypatch):
    conn = {**WAREHOUSE_CONN, "host": "sparkify.abc123.us-west-2.redshift.amazonaws.com", "port": 5439}
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", json.dumps(conn))
    assert lineage.Warehouse.from_connection("cluster").namespace == "redshift://sparkify.us-west-2:5439"


def test_the_parser_finds_what_each_select_reads_even_inside_ctes():
    expected = {
        "songplays_select.sql": ["artists", "songs", "staging_events__rx", "staging_songs__rx"],
        "users_select.sql": ["songplays", "staging_events__rx"],
        "songs_select.sql": ["staging_songs__rx"],
        "artists_select.sql": ["songs", "staging_songs__rx"],
        "time_select.sql": ["songplays__rx"],
    }
    for name, tables in expected.items():
        sql = render_sql(name, "rx").replace("__r" + _hash("rx"), "__rx")
        read, written = lineage.sql_tables([f"INSERT INTO target\n{sql}"])
        assert sorted(read) == tables, name
        assert written == ["target"]


def _hash(run_id: str) -> str:
    from sparkify.staging import run_scoped

    return run_scoped("t", run_id).split("__r")[1]


def test_stage_reports_the_windows_s3_keys_and_the_tables_it_replaces():
    op = StageToRedshiftOperator(
        task_id="stage_songs",
        table="staging_songs__r1",
        s3_bucket="udacity-dend",
        s3_key=["log_data/%Y/%m/%Y-%m-%d-events.json", "song_data/"],
        manifest_location="s3://sparkify-staging/manifests/",
        staged_files_table="staging_song_files__r1",
    )
    op._lineage_source = op.build_spec([date(2018, 11, 14), date(2018, 11, 15)])
    op._lineage_rows = 42
    facets = op.get_openlineage_facets_on_failure(None)
    assert names(facets.inputs) == [
        ("s3://udacity-dend", "log_data/2018/11/2018-11-14-events.json"),
        ("s3://udacity-dend", "log_data/2018/11/2018-11-15-events.json"),
        ("s3://udacity-dend", "song_data/"),
    ]
    assert names(facets.outputs) == [table("staging_songs__r1"), table("staging_song_files__r1")]
    staging = facets.outputs[0]
    assert staging.outputFacets["outputStatistics"].rowCount == 42
    assert staging.facets["lifecycleStateChange"].lifecycleStateChange.value == "OVERWRITE"
    assert "outputStatistics" not in facets.outputs[1].outputFacets


def test_selection_reports_the_ledger_it_reads_and_the_listing_it_writes():
    op = SelectNewObjectsOperator(
        task_id="select_song_files",
        s3_bucket="udacity-dend",
        s3_key="song_data/",
        ledger_table="song_file_ledger",
        listing_table="song_file_listing",
        manifest_location="s3://sparkify-staging/manifests/",
    )
    facets = op.get_openlineage_facets_on_failure(None)
    assert names(facets.inputs) == [table("song_file_ledger")]  # it failed before it had a window
    assert names(facets.outputs) == [table("song_file_listing")]
    op._lineage_keys = ("song_data/",)
    op._lineage_manifest = ("sparkify-staging", "manifests/d/select_song_files/r.manifest")
    facets = op.get_openlineage_facets_on_failure(None)
    assert names(facets.inputs) == [("s3://udacity-dend", "song_data/"), table("song_file_ledger")]
    assert names(facets.outputs) == [
        ("s3://sparkify-staging", "manifests/d/select_song_files/r.manifest"),
        table("song_file_listing"),
    ]


def test_stage_that_failed_before_its_window_reports_only_its_table():
    op = StageToRedshiftOperator(task_id="s", table="staging_events", s3_bucket="b-1", s3_key="k", method="APPEND")
    facets = op.get_openlineage_facets_on_failure(None)
    assert facets.inputs == [] and names(facets.outputs) == [table("staging_events")]
    assert facets.outputs[0].facets == {} and facets.outputs[0].outputFacets == {}


def test_fact_reports_the_tables_its_select_reads_and_the_table_it_writes():
    op = LoadFactOperator(task_id="f", table="songplays__r1", sql=render_sql("songplays_select.sql", "r1"))
    op._lineage_rows = 7
    facets = op.get_openlineage_facets_on_failure(None)
    copy = _hash("r1")
    assert sorted(names(facets.inputs)) == [
        table("artists"),
        table("songs"),
        table(f"staging_events__r{copy}"),
        table(f"staging_songs__r{copy}"),
    ]
    assert names(facets.outputs) == [table("songplays__r1")]
    assert facets.outputs[0].outputFacets["outputStatistics"].rowCount == 7


@pytest.mark.parametrize("mode", ["merge", "truncate-insert"])
def test_dimension_reports_its_sources_but_not_its_merge_stage(mode):
    op = LoadDimensionOperator(
        task_id="d", table="users__r1", sql=render_sql("users_select.sql", "r1"), mode=mode, key="user_id"
    )
    facets = op.get_openlineage_facets_on_failure(None)
    assert sorted(names(facets.inputs)) == [table("songplays"), table(f"staging_events__r{_hash('r1')}")]
    assert names(facets.outputs) == [table("users__r1")]
    overwrite = facets.outputs[0].facets.get("lifecycleStateChange")
    assert (overwrite is not None) == (mode == "truncate-insert")


def test_publish_reads_the_shadows_and_writes_the_published_tables_and_the_ledger():
    op = PublishOperator(
        task_id="publish",
        post_sql="INSERT INTO song_file_ledger SELECT * FROM staging_song_files__r1",
        lock_also=["song_file_ledger"],
        publications=[
            Publication("songplays", "songplays__r1", window_column="start_time"),
            Publication(
                "users",
                "users__r1",
                key="user_id",
                condition="NOT EXISTS (SELECT 1 FROM songplays p WHERE p.user_id = shadow.user_id)",
            ),
        ],
    )
    op._lineage_publications = op.publications
    op._lineage_counts = {"songplays": 5, "users": 2}
    facets = op.get_openlineage_facets_on_failure(None)
    assert sorted(names(facets.inputs)) == [
        table("songplays"),
        table("songplays__r1"),
        table("staging_song_files__r1"),
        table("users__r1"),
    ]
    assert names(facets.outputs) == [table("songplays"), table("users"), table("song_file_ledger")]
    assert [
        o.outputFacets.get("outputStatistics", None) and o.outputFacets["outputStatistics"].rowCount
        for o in facets.outputs
    ] == [5, 2, None]


def test_publish_that_failed_before_rendering_still_names_the_published_tables():
    op = PublishOperator(
        task_id="publish", publications=[Publication("time", "{{ run_scoped('time', run_id) }}", key="start_time")]
    )
    facets = op.get_openlineage_facets_on_failure(None)
    assert facets.inputs == [] and names(facets.outputs) == [table("time")]


CHECKS = [
    SqlCheck(name="songplays_user_id_not_null", sql="SELECT 0", table="songplays", kind="null_check", column="user_id"),
    SqlCheck(name="users_not_empty", sql="SELECT 1", table="users", kind="row_count", severity="warn"),
    SqlCheck(name="users_level_accepted", sql="SELECT 0", table="users", kind="accepted_values", column="level"),
    SqlCheck(name="loose_end", sql="SELECT 2"),
]
RESULTS = [
    {
        "name": "songplays_user_id_not_null",
        "table": "songplays",
        "observed": 0,
        "expected": "equal 0",
        "passed": True,
        "severity": "error",
        "description": "",
    },
    {
        "name": "users_not_empty",
        "table": "users",
        "observed": 0,
        "expected": "at least 1",
        "passed": False,
        "severity": "warn",
        "description": "an empty users table is suspicious",
    },
    {
        "name": "users_level_accepted",
        "table": "users",
        "observed": 3,
        "expected": "equal 0",
        "passed": False,
        "severity": "error",
        "description": "",
    },
    {
        "name": "loose_end",
        "table": None,
        "observed": 2,
        "expected": "equal 0",
        "passed": False,
        "severity": "error",
        "description": "",
    },
]


def test_quality_results_become_assertions_on_the_audited_tables():
    op = DataQualityOperator(task_id="q", checks=CHECKS)
    op._lineage_results = (op.checks, RESULTS)
    facets = op.get_openlineage_facets_on_failure(None)
    assert names(facets.inputs) == [table("songplays"), table("users")]
    assertions = {d.name: d.inputFacets["dataQualityAssertions"].assertions for d in facets.inputs}
    songplays, users = assertions["dev.public.songplays"], assertions["dev.public.users"]
    assert [(a.name, a.assertion, a.column, a.success, a.severity, a.actual) for a in songplays] == [
        ("songplays_user_id_not_null", "not_null", "user_id", True, "error", "0")
    ]
    assert [(a.name, a.assertion, a.column, a.success, a.severity) for a in users] == [
        ("users_not_empty", "row_count", None, False, "warn"),
        ("users_level_accepted", "accepted_values", "level", False, "error"),
    ]
    assert users[0].expected == "at least 1" and users[0].description == "an empty users table is suspicious"
    [test] = facets.run_facets["test"].tests
    assert (test.name, test.status, test.type) == ("loose_end", "fail", "custom_sql")
    assert names(facets.outputs) == [table("dq_results")]
    assert facets.outputs[0].outputFacets["outputStatistics"].rowCount == 4
    event = json.loads(Serde.to_json(facets.inputs[1]))  # what a transport sends
    assert event["inputFacets"]["dataQualityAssertions"]["assertions"][1]["success"] is False


def test_every_declared_check_names_its_kind_and_column_for_its_assertion():
    from sparkify.quality_config import load_quality_checks

    sql = PROJECT_ROOT / "include" / "sql"
    checks = load_quality_checks(PROJECT_ROOT / "include" / "quality_checks.yaml", sql, sql / "create_tables.sql")
    by_name = {c.name: c for c in checks}
    assert (by_name["songplays_user_id_not_null"].kind, by_name["songplays_user_id_not_null"].column) == (
        "null_check",
        "user_id",
    )
    assert (by_name["songplays_start_time_in_time"].table, by_name["songplays_start_time_in_time"].column) == (
        "songplays",
        "start_time",
    )
    assert all(c.kind in lineage.ASSERTION_TYPES and c.table for c in checks)


@pytest.mark.parametrize(
    "results", [None, [], ["not a result"], [{"passed": True}], [{"name": "x", "table": 5}], "garbage"]
)
def test_quality_facets_survive_odd_results(results):
    op = DataQualityOperator(task_id="q", checks=CHECKS)
    op._lineage_results = (op.checks, results)
    facets = op.get_openlineage_facets_on_failure(None)
    assert facets is not None and facets.inputs == []


def test_a_lineage_error_is_logged_and_never_raised(capsys):
    op = LoadFactOperator(task_id="f", table="songplays", sql="SELECT 1", redshift_conn_id="no_such_connection")
    assert op.get_openlineage_facets_on_complete(None) is None
    assert op.get_openlineage_facets_on_failure(None) is None
    assert "OpenLineage facets of f not built: AirflowNotFoundException" in capsys.readouterr().out


def test_odd_counts_give_no_statistics():
    assert lineage.row_count_facets(None) == lineage.row_count_facets(True) == lineage.row_count_facets(-1) == {}
    assert lineage.row_count_facets(3)["outputStatistics"].rowCount == 3
    assert lineage.sql_tables([]) == ([], [])
    assert lineage.sql_tables(["this is not SQL", None]) == ([], [])


def test_openlineage_is_off_without_a_transport(settings, monkeypatch):
    """The local stack configures no transport, and without one the provider registers no listener."""
    from airflow.listeners.listener import get_listener_manager
    from airflow.providers.openlineage import conf

    assert not [k for k in settings.environment() if "OPENLINEAGE" in k.upper()]
    own = [k for k in os.environ if k.startswith(("AIRFLOW__OPENLINEAGE__", "OPENLINEAGE_"))]  # a developer's own
    if not own:  # then this process, like `make demo`, runs tasks with no lineage listener at all
        assert "OpenLineageListener" not in [type(p).__name__ for p in get_listener_manager().pm.get_plugins()]
    for name in own:
        monkeypatch.delenv(name)
    assert conf.is_disabled()
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    assert not conf.is_disabled()
