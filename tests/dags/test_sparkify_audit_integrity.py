"""The split of the data quality checks: the hourly ones never read a published table whole; the daily
sparkify_audit DAG runs the whole-table ones apart from the hourly runs."""

from __future__ import annotations

import re
from datetime import timedelta

import pendulum
import pytest

from sparkify.operators import DataQualityOperator
from sparkify.pools import WAREHOUSE_POOL
from sparkify.quality_config import CheckConfigError, load_quality_checks
from tests.support import PROJECT_ROOT, SQL_DIR

CHECKS_FILE = PROJECT_ROOT / "include" / "quality_checks.yaml"
DDL = SQL_DIR / "create_tables.sql"
PUBLISHED = ("songplays", "users", "songs", "artists", "time")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


def sort_keys() -> dict[str, str]:
    """Each published table's first sort key column, as create_tables.sql declares it."""
    from sparkify.ddl import split_statements

    keys = {}
    for statement in split_statements(DDL.read_text()):
        table, key = re.search(r"TABLE IF NOT EXISTS (\w+)", statement), re.search(r"SORTKEY \((\w+)", statement)
        if table and key and table.group(1) in PUBLISHED:
            keys[table.group(1)] = key.group(1)
    return keys


def unbounded_reads(sql: str, keys: dict[str, str]) -> list[str]:
    """The mentions of a published table left in `sql` once its bounded reads are taken out: a dimension's key
    looked up through its sort key, a range of the window on the sort key, a count stopped by LIMIT."""
    sql = " ".join(re.sub(r"--[^\n]*", "", sql).split())
    sql = re.sub(r"\{\{ run_scoped\('\w+', run_id\) \}\}", "SHADOW", sql)
    sql = re.sub(r"SELECT COUNT\(\*\) FROM \(SELECT 1 FROM \(SELECT \* FROM .*? LIMIT \d+\) counted", "", sql)
    for table, key in keys.items():
        lookup = rf'FROM "?{table}"? (\w+) WHERE \1\."?{key}"? = \w+\."?\w+"?'
        window = (
            rf'FROM "?{table}"? (\w+) WHERE \1\."?{key}"? >= %\(window_start\)s AND \1\."?{key}"? < %\(window_end\)s'
        )
        sql = re.sub(lookup if table != "time" else window, "", sql)
    return re.findall(rf'"?\b(?:{"|".join(PUBLISHED)})\b"?', sql)


def test_no_hourly_check_reads_a_published_table_beyond_the_window_or_the_keys_it_references(dagbag):
    keys = sort_keys()
    assert keys == {"songplays": "start_time", "users": "user_id", "songs": "song_id", "artists": "artist_id",
                    "time": "start_time"}  # fmt: skip
    checks = dagbag.dags["sparkify_etl"].get_task("run_quality_checks").checks_file.load()
    for check in checks:
        for sql in (check.sql, check.expected_sql or ""):
            assert unbounded_reads(sql, keys) == [], f"{check.name}: {sql}"
    # The helper itself: what it must flag.
    assert unbounded_reads('SELECT COUNT(*) FROM "songplays" WHERE TRUE', keys) == ['"songplays"']
    assert unbounded_reads('SELECT 1 FROM "time" t WHERE t."start_time" = p."start_time"', keys) == ['"time"']
    assert unbounded_reads('SELECT 1 FROM "users" parent WHERE parent."level" = c."level"', keys) == ['"users"']


def test_the_audit_runs_daily_apart_from_the_hourly_runs(dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.dags["sparkify_audit"]
    assert dag.doc_md.lstrip().startswith("### Sparkify audit")
    assert isinstance(dag.timetable, CronDataIntervalTimetable) and dag.timetable.expression == "30 0 * * *"
    assert dag.start_date == pendulum.datetime(2018, 11, 1, tz="UTC") and dag.catchup is False
    assert {"sparkify", "audit"} <= set(dag.tags) and dag.max_active_runs == 1
    [task] = dag.tasks
    assert isinstance(task, DataQualityOperator) and task.task_id == "audit_star_schema"
    assert task.checks_file.section == "audit_checks" and task.checks_file.path == CHECKS_FILE
    assert task.results_table == "dq_results" and task.pool == WAREHOUSE_POOL
    # the warehouse's one lock order: the publish's
    assert list(task.read_order) == dagbag.dags["sparkify_etl"].get_task("publish").lock_order[:5]
    assert task.retry_exponential_backoff == 2.0 and task.max_retry_delay == timedelta(minutes=15)
    # Nothing in sparkify_etl waits for it (no sensor or task of it), and it is scheduled on no asset of it.
    assert not any("audit" in t.task_id for t in dagbag.dags["sparkify_etl"].tasks)


def test_the_audit_checks_read_whole_published_tables(dagbag):
    checks = dagbag.dags["sparkify_audit"].get_task("audit_star_schema").checks_file.load()
    names = {c.name for c in checks}
    assert {
        "audit_songplays_songplay_id_unique",
        "audit_songplays_user_in_users",
        "audit_users_level_accepted",
    } <= names
    for check in checks:
        assert check.name.startswith("audit_") and check.table in PUBLISHED
        assert "run_scoped" not in check.sql and "%(window_" not in check.sql, check.name  # all of it, no shadow
    hourly = {c.name for c in dagbag.dags["sparkify_etl"].get_task("run_quality_checks").checks_file.load()}
    assert not names & hourly


def test_the_audit_section_takes_no_publications_and_names_are_unique_across_both_lists(tmp_path, dagbag):
    publications = dagbag.dags["sparkify_etl"].get_task("publish").publications
    with pytest.raises(CheckConfigError, match="audit_checks read the published tables"):
        load_quality_checks(CHECKS_FILE, SQL_DIR, DDL, publications, section="audit_checks")
    with pytest.raises(CheckConfigError, match="no section 'nightly'"):
        load_quality_checks(CHECKS_FILE, SQL_DIR, DDL, section="nightly")
    repeated = tmp_path / "checks.yaml"
    text = CHECKS_FILE.read_text()
    repeated.write_text(text.replace("- name: audit_users_level_not_null", "- name: users_level_not_null"))
    with pytest.raises(CheckConfigError, match="repeated: users_level_not_null"):
        load_quality_checks(repeated, SQL_DIR, DDL, section="audit_checks")
