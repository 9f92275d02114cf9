"""sparkify_report in the UI: created unpaused, and its task carries the "Report" extra link."""

from __future__ import annotations

import pytest

from tests.support import PROJECT_ROOT


@pytest.fixture(scope="module")
def report_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_report.py"))
    assert bag.import_errors == {}
    return bag.dags["sparkify_report"]


def test_the_report_dag_is_created_unpaused(report_dag):
    assert report_dag.is_paused_upon_creation is False


def test_the_report_task_has_the_report_link_and_the_dag_serializes_it(report_dag):
    from airflow.serialization.serialized_objects import DagSerialization

    task = report_dag.get_task("refresh_report")
    assert [link.name for link in task.operator_extra_links] == ["Report"]
    # What the API server reads: the link's name and the XCom key the worker stores its URL under.
    serialized = DagSerialization.to_dict(report_dag)
    [encoded] = [t for t in serialized["dag"]["tasks"] if t["__var"]["task_id"] == "refresh_report"]
    assert encoded["__var"]["_operator_extra_links"] == {"Report": "_link_ReportLink"}
