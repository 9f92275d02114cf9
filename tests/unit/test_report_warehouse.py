"""Which warehouse `make report` connects to, read from AIRFLOW_CONN_REDSHIFT (JSON or URI) or the local .env."""

from __future__ import annotations

import json

import pytest

from local_stack.report_warehouse import WarehouseConnError, report_warehouse

PASSWORD = "Secret%2Fpw"


def test_a_redshift_json_connection():
    conn = {
        "conn_type": "redshift",
        "host": "c.abc.us-west-2.redshift.amazonaws.com",
        "login": "dwhuser",
        "password": "pw",
        "schema": "dwh",
    }
    target = report_warehouse({"AIRFLOW_CONN_REDSHIFT": json.dumps(conn)})

    assert target.where == "c.abc.us-west-2.redshift.amazonaws.com:5439/dwh"
    assert target.connect_args() == {
        "host": "c.abc.us-west-2.redshift.amazonaws.com",
        "port": 5439,
        "dbname": "dwh",
        "user": "dwhuser",
        "password": "pw",
        "sslmode": "prefer",
    }
    assert target.from_environment


def test_a_uri_connection_is_decoded():
    target = report_warehouse(
        {"AIRFLOW_CONN_REDSHIFT": f"redshift://dwhuser:{PASSWORD}@host.example:5440/dwh?sslmode=require"}
    )

    assert (target.user, target.password, target.port, target.dbname, target.sslmode) == (
        "dwhuser",
        "Secret/pw",
        5440,
        "dwh",
        "require",
    )
    assert "Secret" not in target.where


def test_an_empty_host_says_to_create_the_cluster_first():
    conn = {"conn_type": "redshift", "host": "", "port": 5439, "login": "u", "password": "p", "schema": "dwh"}
    with pytest.raises(WarehouseConnError, match="has no host. Create the cluster with the sparkify_infra DAG"):
        report_warehouse({"AIRFLOW_CONN_REDSHIFT": json.dumps(conn)})


def test_without_the_variable_the_local_stack(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_REDSHIFT", raising=False)
    monkeypatch.setenv("SPARKIFY_WAREHOUSE_PORT", "15439")
    target = report_warehouse({})

    assert (target.where, target.source, target.from_environment) == (
        "127.0.0.1:15439/dev",
        "the local stack's .env",
        False,
    )
