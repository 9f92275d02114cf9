"""Argument validation and the exact SQL of the load and quality operators."""

from __future__ import annotations

import dataclasses

import pytest

from sparkify.operators import (
    DataQualityOperator,
    LoadDimensionOperator,
    LoadFactOperator,
    Publication,
    PublishOperator,
    StageToRedshiftOperator,
)
from sparkify.s3copy.spec import CopyOptions
from sparkify.sql_check import SqlCheck


def test_fact_statements_replace_the_window_then_insert():
    op = LoadFactOperator(task_id="f", table="songplays", sql="SELECT 1", time_column="start_time")
    assert op.build_statements() == [
        'DELETE FROM "songplays" WHERE "start_time" >= %(window_start)s AND "start_time" < %(window_end)s',
        'INSERT INTO "songplays"\nSELECT 1',
    ]


@pytest.mark.parametrize("table", ["songplays; DROP TABLE users", "Songplays", "a.b.c", ""])
def test_fact_refuses_unsafe_table_names(table):
    with pytest.raises(ValueError, match="Invalid"):
        LoadFactOperator(task_id="f", table=table, sql="SELECT 1")


def test_fact_refuses_unsafe_time_column():
    with pytest.raises(ValueError, match="time column"):
        LoadFactOperator(task_id="f", table="songplays", sql="SELECT 1", time_column="ts) OR (1=1")


def test_dimension_merge_statements():
    op = LoadDimensionOperator(task_id="d", table="users", sql="SELECT 1", mode="merge", key="user_id")
    assert op.build_statements() == [
        'LOCK TABLE "users"',
        'CREATE TEMPORARY TABLE "users_merge_stage" AS\nSELECT 1',
        'DELETE FROM "users" USING "users_merge_stage" WHERE "users"."user_id" = "users_merge_stage"."user_id"',
        'INSERT INTO "users" SELECT * FROM "users_merge_stage"',
        'DROP TABLE "users_merge_stage"',
    ]


def test_dimension_merge_on_a_composite_key_in_a_schema():
    op = LoadDimensionOperator(task_id="d", table="dw.users", sql="SELECT 1", mode="merge", key=["a", "b"])
    assert op.build_statements()[2] == (
        'DELETE FROM "dw"."users" USING "users_merge_stage" '
        'WHERE "dw"."users"."a" = "users_merge_stage"."a" AND "dw"."users"."b" = "users_merge_stage"."b"'
    )


def test_dimension_truncate_insert_uses_a_transactional_delete():
    op = LoadDimensionOperator(task_id="d", table="songs", sql="SELECT 1", mode="truncate-insert")
    assert op.build_statements() == ['LOCK TABLE "songs"', 'DELETE FROM "songs"', 'INSERT INTO "songs"\nSELECT 1']


def test_dimension_append():
    op = LoadDimensionOperator(task_id="d", table="songs", sql="SELECT 1", mode="append")
    assert op.build_statements() == ['LOCK TABLE "songs"', 'INSERT INTO "songs"\nSELECT 1']


def test_dimension_post_sql_runs_last_in_the_same_transaction():
    op = LoadDimensionOperator(
        task_id="d",
        table="songs",
        sql="SELECT 1",
        mode="merge",
        key="song_id",
        post_sql="DELETE FROM ledger WHERE x = 1;\n-- note\nINSERT INTO ledger SELECT 2;",
    )
    assert op.build_statements()[-2:] == ["DELETE FROM ledger WHERE x = 1", "INSERT INTO ledger SELECT 2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "upsert"}, "mode must be one of"),
        ({"mode": "merge"}, "needs the key"),
        ({"mode": "merge", "key": "id; --"}, "Invalid key column"),
        ({"mode": "append", "table": "bad name"}, "Invalid table name"),
    ],
)
def test_dimension_argument_validation(kwargs, message):
    arguments = {"task_id": "d", "table": "users", "sql": "SELECT 1", **kwargs}
    with pytest.raises(ValueError, match=message):
        LoadDimensionOperator(**arguments)


@pytest.mark.parametrize(
    ("copy_options", "message"),
    [
        ({"json_format": "csv"}, "json_format must be"),
        ({"timeformat": "epochnanos"}, "timeformat must be"),
        ({"compression": "lz4"}, "compression must be"),
        ({"region": "mars-1"}, "region"),
        ({"max_error": "10"}, "max_error must be an integer"),
        ({"blanks_as_null": "False"}, "blanks_as_null must be true or false"),  # a rendered template: truthy text
        ({"truncate_columns": 1}, "truncate_columns must be true or false"),
        ({"compupdate": "off"}, "compupdate must be true, false or unset"),
        ({"statupdate": 0}, "statupdate must be true, false or unset"),
        ({"region": 2}, "region must be a string"),
        ({"maxerror": 1}, "unknown key.* maxerror; allowed: json_format, "),
        ({"manifest": True}, "cannot set manifest"),
        (CopyOptions(manifest=True), "cannot set manifest"),
        (["TIMEFORMAT 'auto'"], "not list"),
        ("TIMEFORMAT 'auto'", "not str"),
    ],
)
def test_stage_copy_options_are_validated_when_the_dag_is_parsed(copy_options, message):
    with pytest.raises(ValueError, match=message):
        StageToRedshiftOperator(
            task_id="s", table="staging_events", s3_bucket="b", s3_key="k", copy_options=copy_options
        )


def test_stage_copy_options_with_a_template_are_checked_once_rendered():
    op = StageToRedshiftOperator(
        task_id="s",
        table="t",
        s3_bucket="bucket-1",
        s3_key="k",
        copy_options={"region": "{{ var.value.r }}", "max_error": 2},
    )
    with pytest.raises(ValueError, match="region"):
        op.build_spec([])  # unrendered
    op.copy_options["region"] = ""  # as rendered from an empty Variable: no REGION
    assert op.build_spec([]).options.sql() == "FORMAT AS JSON 'auto' MAXERROR 2"


def test_stage_method_is_validated_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="method must be one of"):
        StageToRedshiftOperator(task_id="s", table="t", s3_bucket="bucket-1", s3_key="k", method="UPSERT")


# A value other than the default for every option a stage task may set (every CopyOptions field but manifest).
NON_DEFAULT_OPTIONS = {
    "json_format": "auto ignorecase",
    "timeformat": "auto",
    "blanks_as_null": True,
    "empty_as_null": True,
    "truncate_columns": True,
    "compression": "gzip",
    "region": "eu-west-1",
    "compupdate": False,
    "statupdate": True,
    "max_error": 5,
    "accept_inv_chars": "?",
    "roundec": True,
    "explicit_ids": True,
}


def test_every_copy_option_but_manifest_is_covered_below():
    assert set(NON_DEFAULT_OPTIONS) == {f.name for f in dataclasses.fields(CopyOptions)} - {"manifest"}


@pytest.mark.parametrize(("name", "value"), NON_DEFAULT_OPTIONS.items())
def test_no_copy_option_is_dropped_on_its_way_to_the_copy(name, value):
    op = StageToRedshiftOperator(task_id="s", table="t", s3_bucket="bucket-1", s3_key="k", copy_options={name: value})
    options = op.build_spec([]).options
    assert getattr(options, name) == value
    assert options.sql() != CopyOptions().sql()
    given = StageToRedshiftOperator(
        task_id="s", table="t", s3_bucket="bucket-1", s3_key="k", copy_options=CopyOptions(**{name: value})
    )
    assert given.build_spec([]).options == options


def test_stage_copy_options_are_the_tasks_own_copy():
    shared = {"region": "us-west-2"}
    op = StageToRedshiftOperator(task_id="s", table="t", s3_bucket="bucket-1", s3_key="k", copy_options=shared)
    op.copy_options["region"] = "eu-west-1"  # as a render writes it
    assert shared == {"region": "us-west-2"}


def test_the_object_cache_is_validated_when_the_dag_is_parsed():
    from datetime import timedelta

    from sparkify.s3copy.cached_staging import CachedStaging

    assert CachedStaging("staged_object_cache").retention == timedelta(hours=48)
    assert CachedStaging("c", "90m").retention == timedelta(minutes=90)
    assert repr(CachedStaging("c")) == "CachedStaging(registry='c', retention=datetime.timedelta(days=2))"
    with pytest.raises(ValueError, match="Invalid table name 'bad; name'"):
        CachedStaging("bad; name")
    with pytest.raises(ValueError, match="retention='forever' is not a usable duration"):
        CachedStaging("c", "forever")


def test_stage_spec_expands_the_day_files_of_the_window():
    from datetime import date

    op = StageToRedshiftOperator(
        task_id="s",
        table="staging_events",
        s3_bucket="udacity-dend",
        s3_key="log_data/%Y/%m/%Y-%m-%d-events.json",
        copy_options={"json_format": "s3://udacity-dend/log_json_path.json"},
    )
    spec = op.build_spec([date(2018, 11, 30), date(2018, 12, 1)])
    assert spec.keys == ("log_data/2018/11/2018-11-30-events.json", "log_data/2018/12/2018-12-01-events.json")


def test_stage_templates_every_user_facing_field_and_reads_no_file():
    assert set(StageToRedshiftOperator.template_fields) >= {
        "table",
        "s3_bucket",
        "s3_key",
        "copy_options",
        "redshift_conn_id",
        "aws_conn_id",
    }
    assert "object_cache" not in StageToRedshiftOperator.template_fields
    assert StageToRedshiftOperator.template_ext == ()  # an s3_key ending in .sql is a key, not a template file


def test_the_fact_load_counts_the_staged_rows_of_the_runs_staging_table():
    import re
    from pathlib import Path

    import jinja2

    from sparkify.staging import run_scoped

    sql = (Path(__file__).resolve().parents[2] / "include/sql/staged_rows_in_window.sql").read_text()
    rendered = jinja2.Template(sql).render(run_scoped=run_scoped, run_id="manual__1")
    query = re.sub(r"\s+", " ", " ".join(line for line in rendered.splitlines() if not line.startswith("--")))
    assert query.strip() == (
        "SELECT COUNT(*), COUNT(CASE WHEN ts >= %(window_start)s AND ts < %(window_end)s THEN 1 END) "
        f"FROM {run_scoped('staging_events', 'manual__1')}"
    )
    assert "source_rows_sql" in LoadFactOperator.template_fields


def test_quality_operator_accepts_mappings_and_refuses_bad_checks():
    op = DataQualityOperator(task_id="q", checks=[{"name": "a", "sql": "SELECT 0", "expected": 0}])
    assert op.checks == [SqlCheck(name="a", sql="SELECT 0", expected=0)]
    with pytest.raises(ValueError, match="at least one check"):
        DataQualityOperator(task_id="q", checks=[])
    with pytest.raises(ValueError, match="unique"):
        DataQualityOperator(task_id="q", checks=[SqlCheck("a", "SELECT 1", 1), SqlCheck("a", "SELECT 2", 2)])
    with pytest.raises(ValueError, match="unknown comparison"):
        DataQualityOperator(task_id="q", checks=[{"name": "a", "sql": "SELECT 0", "expected": 0, "comparison": "~"}])


def test_publish_locks_every_table_in_the_given_order_then_replaces_the_window_and_merges():
    publish = PublishOperator(
        task_id="p",
        publications=[
            Publication("songplays", "songplays_r1", window_column="start_time"),
            Publication("users", "users_r1", key="user_id", condition="shadow.level IS NOT NULL"),
        ],
        post_sql="DELETE FROM ledger; INSERT INTO ledger SELECT 1",
        lock_also=["ledger"],
    )
    assert publish.build_statements() == [
        'LOCK TABLE "songplays"',
        'LOCK TABLE "users"',
        'LOCK TABLE "ledger"',
        'DELETE FROM "songplays" WHERE "start_time" >= %(window_start)s AND "start_time" < %(window_end)s',
        'INSERT INTO "songplays" SELECT * FROM "songplays_r1" WHERE "start_time" >= %(window_start)s '
        'AND "start_time" < %(window_end)s',
        'DELETE FROM "users" USING "users_r1" shadow WHERE "users"."user_id" = shadow."user_id" '
        "AND (shadow.level IS NOT NULL)",
        'INSERT INTO "users" SELECT * FROM "users_r1" shadow WHERE shadow.level IS NOT NULL',
        "DELETE FROM ledger",
        "INSERT INTO ledger SELECT 1",
    ]


def test_a_merge_keyed_in_the_window_reads_and_writes_only_the_windows_range():
    """time's keys are the window's start_times: its merge touches the window's range of time, through its sort
    key, never the rest of the table; a shadow row outside the window is not merged (nothing deleted it)."""
    publish = PublishOperator(
        task_id="p", publications=[Publication("time", "time_r1", key="start_time", key_in_window=True)]
    )
    in_window = '{0}"start_time" >= %(window_start)s AND {0}"start_time" < %(window_end)s'
    assert publish.build_statements()[1:] == [
        'DELETE FROM "time" USING "time_r1" shadow WHERE "time"."start_time" = shadow."start_time" AND '
        + in_window.format('"time".'),
        'INSERT INTO "time" SELECT * FROM "time_r1" shadow WHERE ' + in_window.format("shadow."),
    ]
    both = Publication("u", "u_r1", key="user_id", key_in_window=True, condition="shadow.level IS NOT NULL OR FALSE")
    assert PublishOperator(task_id="q", publications=[both]).build_statements()[1:] == [
        'DELETE FROM "u" USING "u_r1" shadow WHERE "u"."user_id" = shadow."user_id" AND '
        + in_window.format('"u".').replace('"start_time"', '"user_id"')
        + " AND (shadow.level IS NOT NULL OR FALSE)",
        'INSERT INTO "u" SELECT * FROM "u_r1" shadow WHERE '
        + in_window.format("shadow.").replace('"start_time"', '"user_id"')
        + " AND (shadow.level IS NOT NULL OR FALSE)",
    ]
    with pytest.raises(ValueError, match="key_in_window needs a merge on one column"):
        Publication("t", "s", key=("a", "b"), key_in_window=True)


@pytest.mark.parametrize(
    ("publication", "message"),
    [
        (dict(table="t", shadow="s"), "either window_column"),
        (dict(table="t", shadow="s", window_column="c", key="k"), "either window_column"),
        (dict(table="t", shadow="s", window_column="c", condition="TRUE"), "merges only"),
        (dict(table="t; DROP", shadow="s", key="k"), "Invalid table name"),
        (dict(table="t", shadow="s", key="k; x"), "Invalid column"),
    ],
)
def test_publication_validation(publication, message):
    with pytest.raises(ValueError, match=message):
        Publication(**publication)


def test_publish_refuses_a_table_locked_twice():
    with pytest.raises(ValueError, match="published or locked once"):
        PublishOperator(task_id="p", publications=[Publication("t", "s", key="k")], lock_also=["t"])
