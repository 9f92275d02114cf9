"""The REST API as a client uses it: a token from /auth/token, then /api/v2."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.expected import expected_star
from tests.live.conftest import DAG_ID
from tests.support import assert_star_matches, busy_hours

pytestmark = pytest.mark.integration


def test_a_run_created_through_the_rest_api_loads_its_hour(sparkify_dag_live, sample_data, db):
    services = sparkify_dag_live
    base = services.base_url
    response = httpx.post(
        f"{base}/auth/token",
        timeout=30,
        json={"username": services.login.username, "password": services.login.password},
    )
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert httpx.get(f"{base}/api/v2/dags/{DAG_ID}", timeout=30).status_code == 401, "the API needs the token"

    assert (
        httpx.patch(f"{base}/api/v2/dags/{DAG_ID}", json={"is_paused": False}, headers=headers, timeout=30).status_code
        == 200
    )

    # A manual run with no window params processes the hour that contains its logical date.
    hour = busy_hours(sample_data, 2)[1]
    created = httpx.post(
        f"{base}/api/v2/dags/{DAG_ID}/dagRuns",
        headers=headers,
        timeout=30,
        json={"logical_date": f"{hour:%Y-%m-%dT%H:%M:%S}Z", "conf": {}},
    )
    assert created.status_code == 200, created.text
    run = created.json()
    assert run["state"] == "queued" and run["run_type"] == "manual"

    finished = services.api().wait_for_run(DAG_ID, run["dag_run_id"], timeout=600)
    assert finished["state"] == "success"
    states = {ti["task_id"]: ti["state"] for ti in services.api().task_instances(DAG_ID, run["dag_run_id"])}
    assert set(states.values()) == {"success"}, states

    expected = expected_star(sample_data, [(hour, hour + timedelta(hours=1))])
    assert expected.songplays, "the chosen hour should contain plays"
    assert_star_matches(db, expected)


def test_the_rest_api_refuses_a_malformed_window_before_creating_a_run(airflow_api):
    before = airflow_api.get(f"/api/v2/dags/{DAG_ID}/dagRuns")["total_entries"]
    response = airflow_api.request(
        "POST",
        f"/api/v2/dags/{DAG_ID}/dagRuns",
        json={"logical_date": None, "conf": {"window_start": "yesterday", "window_end": "2018-11-15T08:00:00Z"}},
    )
    assert response.status_code == 400
    assert "window_start" in response.text and "does not match" in response.text
    assert airflow_api.get(f"/api/v2/dags/{DAG_ID}/dagRuns")["total_entries"] == before


def test_the_client_takes_a_new_token_when_its_token_is_refused(airflow_services):
    api = airflow_services.api()
    api._token = "expired"

    assert api.get(f"/api/v2/dags/{DAG_ID}")["dag_id"] == DAG_ID
    assert api._token != "expired"
