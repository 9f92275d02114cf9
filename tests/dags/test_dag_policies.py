"""Policies every DAG in dags/ follows (Astro's DAG-integrity tests): it imports without errors, has
tags, a real owner, a retry count, a description, and parsing it touches neither the network nor a
database. A new DAG file is checked without being named here."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.support import PROJECT_ROOT

DAG_FILES = sorted((PROJECT_ROOT / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert DAG_FILES and {dag.fileloc for dag in dagbag.dags.values()} == {str(f) for f in DAG_FILES}


def test_every_dag_has_tags_a_description_and_a_start_date(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and "sparkify" in dag.tags, f"{dag_id}: tags"
        assert dag.doc_md, f"{dag_id}: doc_md (the module docstring)"
        assert dag.description, f"{dag_id}: a description, the line the DAG list shows"
        assert dag.start_date is not None and dag.start_date.utcoffset().total_seconds() == 0, dag_id


def test_every_task_has_a_real_owner_and_a_retry_count(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert "retries" in dag.default_args, f"{dag_id}: default_args must say how often tasks retry"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id}: owner"
            assert isinstance(task.retries, int) and task.retries >= 0, f"{dag_id}.{task.task_id}: retries"


# Parsing in a fresh interpreter where every socket connect and name lookup fails, and the
# metadata database points at a port nobody listens on: a DAG file that reaches out at import
# time fails to parse here.
OFFLINE_PARSE = textwrap.dedent(
    """
    import runpy, socket, sys

    def refuse(*args, **kwargs):
        raise OSError("network access while parsing a DAG file")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    runpy.run_path(sys.argv[1], run_name="dag_under_test")
    """
)


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_parsing_a_dag_file_touches_no_network_or_database(dag_file, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": f"{PROJECT_ROOT / 'plugins'}:{PROJECT_ROOT / 'include'}:{PROJECT_ROOT}",
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://nobody@127.0.0.1:9/none",
        "AIRFLOW_CONN_REDSHIFT": "postgres://nobody@127.0.0.1:9/none",
        "AIRFLOW_CONN_AWS_DEFAULT": "aws://?endpoint_url=http%3A%2F%2F127.0.0.1%3A9",
    }
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_PARSE, str(dag_file)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{dag_file.name} needs the network or a database to parse:\n{done.stderr[-3000:]}"
