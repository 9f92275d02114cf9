"""DAG integrity of sparkify_infra: manual, offline to parse, provider operators,
and a branch that matches its steps."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest

from sparkify.infra import lifecycle
from sparkify.infra.cluster_request import ACTIONS
from tests.support import PROJECT_ROOT

SENSORS = {
    "wait_until_available": "available",
    "wait_until_paused": "paused",
    "wait_until_resumed": "available",
    "wait_until_deleted": lifecycle.MISSING,
}


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_infra.py"))
    assert bag.import_errors == {}
    return bag.dags["sparkify_infra"]


def upstream(dag) -> dict[str, set[str]]:
    return {task.task_id: set(task.upstream_task_ids) for task in dag.tasks}


def test_manual_schedule_documentation_and_defaults(dag):
    from airflow.sdk.definitions.timetables.simple import NullTimetable

    assert isinstance(dag.timetable, NullTimetable), "manual runs only"
    assert dag.start_date == pendulum.datetime(2018, 11, 1, tz="UTC")
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.doc_md.lstrip().startswith("### Sparkify infrastructure")
    doc = " ".join(dag.doc_md.split())
    assert "the role ARN in the Variable `sparkify_redshift_iam_role`" in doc, "COPY's role goes in the Variable"
    assert "`redshift` and `aws_default` connections" not in doc
    assert {"sparkify", "infra"} <= set(dag.tags)
    for task in dag.tasks:
        assert task.owner == "sparkify-data-engineering"
        assert task.retries == (3 if task.task_id in ("delete_security_group", "create_cluster") else 0)
    # Retried: on real AWS a just-created IAM role can take a little while to reach Redshift.
    assert dag.get_task("create_cluster").retry_delay == timedelta(seconds=30)


def test_params(dag):
    params = dag.params
    assert params.get_param("action").schema["enum"] == list(ACTIONS) == ["create", "pause", "resume", "delete"]
    assert not params.get_param("action").has_value, "no default action: a careless trigger does nothing"
    assert (params["node_type"], params["number_of_nodes"]) == ("dc2.large", 4)
    assert params["cluster_identifier"] == "sparkify-dwh" and params["iam_role_name"] == "sparkify-redshift-s3-read"
    assert params["ingress_cidr"] is None
    assert params["confirm_delete"] is None and params["skip_final_snapshot"] is False
    # Someone else's role or group is changed only on request (issue 30, finding 4).
    adopt = params.get_param("adopt_existing")
    assert params["adopt_existing"] is False and adopt.schema["type"] == "boolean"
    assert "adopted-by=sparkify_infra" in adopt.description and "adopt_existing" in dag.doc_md


def test_the_provider_operators_and_sensors_do_the_cluster_work(dag):
    from airflow.providers.amazon.aws.operators.redshift_cluster import (
        RedshiftCreateClusterOperator,
        RedshiftDeleteClusterOperator,
        RedshiftPauseClusterOperator,
        RedshiftResumeClusterOperator,
    )
    from airflow.providers.amazon.aws.sensors.redshift_cluster import RedshiftClusterSensor

    assert isinstance(dag.get_task("create_cluster"), RedshiftCreateClusterOperator)
    assert isinstance(dag.get_task("pause_cluster"), RedshiftPauseClusterOperator)
    assert isinstance(dag.get_task("resume_cluster"), RedshiftResumeClusterOperator)
    assert isinstance(dag.get_task("delete_cluster"), RedshiftDeleteClusterOperator)
    for task_id, status in SENSORS.items():
        sensor = dag.get_task(task_id)
        assert isinstance(sensor, RedshiftClusterSensor)
        assert (sensor.target_status, sensor.mode, sensor.trigger_rule) == (
            status,
            "reschedule",
            "none_failed_min_one_success",
        )
    create = dag.get_task("create_cluster")
    assert create.wait_for_completion is False and create.master_user_password.startswith("{{ conn.get(")
    delete = dag.get_task("delete_cluster")
    assert {"skip_final_cluster_snapshot", "final_cluster_snapshot_identifier"} <= set(delete.template_fields)
    assert delete.skip_final_cluster_snapshot.key == "skip_final_snapshot", "decided by check_params, from the params"
    assert delete.final_cluster_snapshot_identifier.key == "final_snapshot_identifier"
    for task in dag.tasks:
        if hasattr(task, "aws_conn_id"):
            assert "sparkify_infra_aws_conn_id" in task.aws_conn_id


def test_the_branch_can_start_exactly_the_steps_the_lifecycle_names(dag):
    statuses = (lifecycle.MISSING, "available", "creating", "paused", "pausing", "resuming", "deleting")
    named = set()
    for action in ACTIONS:
        for status in statuses:
            try:
                named |= set(lifecycle.steps_for(action, status, "c"))
            except lifecycle.ClusterStateError:
                pass
    assert set(dag.get_task("choose_steps").downstream_task_ids) == named


def test_each_action_is_one_chain(dag):
    edges = upstream(dag)
    assert edges["create_cluster"] >= {"ensure_iam_role", "ensure_security_group"}
    assert edges["wait_until_available"] >= {"create_cluster", "choose_steps"}
    assert edges["attach_iam_role"] >= {"wait_until_available", "ensure_iam_role"}
    assert edges["open_port"] >= {"attach_iam_role"}
    assert edges["report_connection"] >= {"open_port", "attach_iam_role"}
    assert edges["wait_until_paused"] >= {"pause_cluster", "choose_steps"}
    assert edges["wait_until_resumed"] >= {"resume_cluster", "choose_steps"}
    assert edges["wait_until_deleted"] >= {"delete_cluster", "choose_steps"}
    assert edges["delete_security_group"] >= {"wait_until_deleted"} and edges["delete_iam_role"] >= {
        "wait_until_deleted"
    }
    # Tasks outside the branch's direct reach must not also hang off check_params alone with a lenient trigger rule.
    lenient = [t.task_id for t in dag.tasks if t.trigger_rule != "all_success"]
    assert sorted(lenient) == sorted(SENSORS)


@pytest.mark.parametrize("dag_file", ["sparkify_infra.py", "sparkify_report.py"])
def test_parsing_touches_no_network(monkeypatch, dag_file):
    import socket

    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):
        raise AssertionError(f"DAG parsing opened a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / dag_file))
    assert bag.import_errors == {} and len(bag.dags) == 1


def test_the_dag_list_says_it_acts_on_real_aws(dag):
    assert "REAL" in dag.description and "AWS" in dag.description
