"""Warehouse sessions are named (application_name), through the real hook, driver and emulator.

Naming them is also what keeps connecting cheap: without a name, redshift_connector calls
`inspect.stack()` on every connection (0.3 to 0.5 s of CPU in a task; sparkify.redshift_hook).
"""

from __future__ import annotations

import inspect
import json

import pytest

from sparkify.operators import LoadFactOperator
from sparkify.warehouse import warehouse_hook

pytestmark = pytest.mark.integration


def session_name(hook) -> str:
    conn = hook.get_conn()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT current_setting('application_name')")
        return cursor.fetchone()[0]
    finally:
        conn.close()


def test_the_hook_names_its_sessions_and_never_inspects_the_stack(stack, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("inspect.stack() was called to name the session")

    monkeypatch.setattr(inspect, "stack", refuse)
    assert session_name(warehouse_hook("redshift", application_name="sparkify_etl.load_users_dim")) == (
        "sparkify_etl.load_users_dim"
    )


def test_a_long_name_is_cut_to_63_bytes(stack):
    name = "sparkify_etl." + "x" * 80  # dag and task ids are ASCII; PostgreSQL keeps 63 bytes
    assert session_name(warehouse_hook("redshift", application_name=name)) == name[:63]


def test_the_connections_extras_name_the_session_when_they_set_a_name(stack, monkeypatch):
    conn = json.loads(stack.environment()["AIRFLOW_CONN_REDSHIFT"])
    conn["extra"] = {**conn.get("extra", {}), "application_name": "from-the-connection"}
    monkeypatch.setenv("AIRFLOW_CONN_NAMED", json.dumps(conn))
    assert session_name(warehouse_hook("named", application_name="from-the-code")) == "from-the-connection"


def test_the_operators_name_their_sessions_after_the_dag_and_task(stack):
    from airflow.sdk import DAG

    with DAG("session_names", schedule=None):
        operator = LoadFactOperator(task_id="load_songplays_fact", table="songplays", sql="SELECT 1")
    assert session_name(operator.get_db_hook()) == "session_names.load_songplays_fact"
