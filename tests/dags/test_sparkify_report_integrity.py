"""DAG integrity of sparkify_report, and its link to sparkify_etl through the star-schema Asset."""

from __future__ import annotations

import pendulum
import pytest

from sparkify.assets import SPARKIFY_STAR_SCHEMA
from tests.support import PROJECT_ROOT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


def test_the_report_is_scheduled_on_the_asset_that_the_etl_emits_at_its_end(dagbag):
    from airflow.sdk.definitions.timetables.assets import AssetTriggeredTimetable

    report, etl = dagbag.dags["sparkify_report"], dagbag.dags["sparkify_etl"]
    assert isinstance(report.timetable, AssetTriggeredTimetable)
    assert report.timetable.asset_condition == SPARKIFY_STAR_SCHEMA
    assert etl.get_task("end").outlets == [SPARKIFY_STAR_SCHEMA]
    assert [t.task_id for t in etl.tasks if t.outlets] == ["end"]


def test_documentation_defaults_and_the_one_task(dagbag):
    dag = dagbag.dags["sparkify_report"]
    assert dag.doc_md.lstrip().startswith("### Sparkify report")
    assert dag.start_date == pendulum.datetime(2018, 11, 1, tz="UTC") and dag.catchup is False
    assert dag.max_active_runs == 1 and {"sparkify", "report"} <= set(dag.tags)
    [task] = dag.tasks
    assert task.task_id == "refresh_report" and task.owner == "sparkify-data-engineering" and task.retries == 2
    assert list(task.op_args) == [
        "{{ var.value.get('sparkify_redshift_conn_id', 'redshift') }}",
        "{{ var.value.get('sparkify_report_location', 's3://sparkify-staging/reports/') }}",
        "{{ var.value.get('sparkify_aws_conn_id', 'aws_default') }}",
    ]
