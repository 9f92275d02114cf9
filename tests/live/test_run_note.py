"""The run's note on a live Airflow: begin writes the window, or the one line that says why not (also the first
line of its log, without a traceback); and the report's link opens the page through the API server."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.live.conftest import DAG_ID

pytestmark = pytest.mark.integration


def note_of(api, run_id: str) -> str | None:
    return api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}")["note"]


def test_a_manual_window_shows_as_the_note_and_a_reversed_one_as_one_line(sparkify_dag_live, airflow_api):
    airflow_api.set_paused(DAG_ID, False)
    window = {"window_start": "2018-11-15T07:00:00Z", "window_end": "2018-11-15T08:00:00Z"}
    run = airflow_api.trigger(DAG_ID, None, window)
    assert airflow_api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=600)["state"] == "success"
    assert note_of(airflow_api, run["dag_run_id"]) == "window 2018-11-15 07:00–08:00 UTC"

    reversed_run = airflow_api.trigger(
        DAG_ID, None, {"window_start": window["window_end"], "window_end": window["window_start"]}
    )
    final = airflow_api.wait_for_run(DAG_ID, reversed_run["dag_run_id"], timeout=300, fail_fast=False)
    assert final["state"] == "failed"
    reason = "Invalid window: window_end 2018-11-15 07:00 must be after window_start 2018-11-15 08:00 (UTC)."
    assert note_of(airflow_api, reversed_run["dag_run_id"]) == reason
    # begin's log, as the UI shows it: the reason is the first line the task logs, one try, no traceback.
    begin = {t["task_id"]: t for t in airflow_api.task_instances(DAG_ID, reversed_run["dag_run_id"])}["begin"]
    assert begin["state"] == "failed" and begin["try_number"] == 1, begin
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(reversed_run['dag_run_id'], safe='')}/taskInstances/begin/logs/1"
    content = airflow_api.get(path, params={"full_content": "true"})["content"]
    events = [event.get("event", "") for event in content if isinstance(event, dict)]
    assert reason in events and events.index(reason) < events.index("Task exited"), events
    assert events[events.index(reason) - 1] == "::endgroup::", events  # right after Airflow's pre-execute lines
    assert not [event for event in content if isinstance(event, dict) and event.get("error_detail")], content
    assert "Traceback" not in json.dumps(content), content


def test_the_report_task_links_to_its_page(sparkify_dag_live, airflow_api):
    """The "Report" extra link, as the UI reads it, opens the page the task wrote (fetched over HTTP)."""
    import httpx

    assert airflow_api.get("/api/v2/dags/sparkify_report")["is_paused"] is False, "created unpaused"
    run = airflow_api.trigger("sparkify_report", None)
    assert airflow_api.wait_for_run("sparkify_report", run["dag_run_id"], timeout=300)["state"] == "success"
    path = (
        f"/api/v2/dags/sparkify_report/dagRuns/{quote(run['dag_run_id'], safe='')}/taskInstances/refresh_report/links"
    )
    links = airflow_api.get(path)["extra_links"]
    assert set(links) == {"Report"}, links
    # The stored link is the API server's page route (sparkify.pages), naming the run and no credential.
    link = links["Report"]
    assert link.startswith(f"{sparkify_dag_live.base_url}/sparkify/pages/report?dag_id=sparkify_report&"), link
    assert "X-Amz" not in link, link
    assert httpx.get(link, timeout=30).status_code == 401, "signed out: Airflow's own answer"
    bearer = {"Authorization": f"Bearer {airflow_api.token()}"}
    opened = httpx.get(link, headers=bearer, timeout=30)
    assert opened.status_code == 307 and "X-Amz-Expires=600" in opened.headers["location"], opened.text
    page = httpx.get(opened.headers["location"], timeout=30)  # S3 (moto), as the browser follows it
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>Sparkify analytics</title>" in page.text
