"""The "Report" and "Quality results" links open their pages through Airflow's API server, and hold no secret.

A real sparkify_report run writes its page to the session's moto S3 and its link to XCom; Airflow's
own API app (airflow.api_fastapi.app.create_app, with the plugin's route mounted as the api-server
mounts it) answers the link for a user signed in through Airflow's /auth/token, with Airflow's
SimpleAuthManager. Each redirect is followed over HTTP to moto, as a browser would.
"""

from __future__ import annotations

import json
import secrets
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from sparkify.config import PROJECT_BUCKET
from sparkify.pages.urls import URL_PREFIX
from tests.support import PROJECT_ROOT, reset_schema

pytestmark = pytest.mark.integration

DAG_ID, TASK_ID = "sparkify_report", "refresh_report"
READER = "reader"  # SimpleAuthManager's viewer role: may read every DAG
QUALITY_PAGE = "<!DOCTYPE html><html><body><h1>Sparkify data quality</h1></body></html>"


@pytest.fixture(scope="module")
def report_run(airflow_db, warehouse_dsn, stack):
    """One sparkify_report run over an empty star schema; a data quality page and its XCom on the same task."""
    import psycopg
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel

    from sparkify.quality_page import XCOM_KEY, write_quality_page

    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        reset_schema(conn)
    location = f"s3://{PROJECT_BUCKET}/page-links-{uuid.uuid4().hex[:8]}/"
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_report.py"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_LOCATION", location)
        run = bag.dags[DAG_ID].test()
    assert str(getattr(run.state, "value", run.state)) == "success"
    # The route reads the XCom of whichever task the link names: this one holds both pages' URIs.
    quality = write_quality_page(location, "aws_default", run.run_id, QUALITY_PAGE)
    XComModel.set(key=XCOM_KEY, value=str(quality), dag_id=DAG_ID, task_id=TASK_ID, run_id=run.run_id)
    return run


@pytest.fixture(scope="module")
def airflow_api(airflow_db, tmp_path_factory):
    """Airflow's API app in this process, with one SimpleAuthManager user of the viewer role."""
    from airflow.api_fastapi import app as api_app
    from fastapi.testclient import TestClient

    password = secrets.token_urlsafe(16)
    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps({READER: password}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", f"{READER}:viewer")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        client = TestClient(api_app.create_app(apps="core"), follow_redirects=False)  # S3 is not this app
        signed_in = client.post("/auth/token", json={"username": READER, "password": password})
        assert signed_in.status_code == 201, signed_in.text
        yield client, signed_in.json()["access_token"]
    api_app.purge_cached_app()  # the auth manager singleton goes with it


def link_of(run, link_name: str) -> str:
    """The extra link Airflow stored for the task when it ended (XCom key `_link_<class>`)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id=TASK_ID, key=link_name)
        return XComModel.deserialize_value(row.one())


def page_path(page: str, run_id: str, task_id: str = TASK_ID) -> str:
    return f"{URL_PREFIX}/pages/{page}?{urlencode({'dag_id': DAG_ID, 'run_id': run_id, 'task_id': task_id})}"


def s3_body(s3, uri: str) -> bytes:
    parts = urlsplit(uri)
    return s3.get_object(Bucket=parts.netloc.rpartition("@")[2], Key=parts.path.lstrip("/"))["Body"].read()


def test_the_stored_link_names_the_run_and_opens_the_report(report_run, airflow_api, s3, settings):
    from airflow.configuration import conf

    client, token = airflow_api
    link = link_of(report_run, "_link_ReportLink")
    base = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    assert link == base + page_path("report", report_run.run_id)  # ids only: no URL of S3, no key id
    parts = urlsplit(link)

    answer = client.get(f"{parts.path}?{parts.query}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 307, answer.text
    location = answer.headers["location"]
    signed = urlsplit(location)
    assert (signed.hostname, signed.port) == ("127.0.0.1", settings.s3_port)
    query = {name.lower(): values for name, values in parse_qs(signed.query).items()}
    assert query["x-amz-expires"] == ["600"]  # made for this click, valid 10 minutes
    assert query["x-amz-credential"][0].startswith(settings.aws_conn["login"] + "/")
    page = httpx.get(location, timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.content == s3_body(s3, link_of(report_run, "return_value")["path"])
    assert b"<title>Sparkify analytics</title>" in page.content


def test_the_ui_cookie_opens_the_quality_page(report_run, airflow_api):
    client, token = airflow_api
    client.cookies.set("_token", token)  # how the UI's browser is signed in
    try:
        answer = client.get(page_path("quality", report_run.run_id))
    finally:
        client.cookies.clear()
    assert answer.status_code == 307, answer.text
    page = httpx.get(answer.headers["location"], timeout=10)
    assert page.status_code == 200 and page.text == QUALITY_PAGE


def test_no_token_is_401_and_a_forged_one_403(report_run, airflow_api):
    client, token = airflow_api
    path = page_path("report", report_run.run_id)
    assert client.get(path).status_code == 401
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    answer = client.get(path, headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 403 and "location" not in answer.headers


def test_an_unknown_run_or_task_is_a_404_that_says_so(report_run, airflow_api):
    client, token = airflow_api
    bearer = {"Authorization": f"Bearer {token}"}
    unknown_run = client.get(page_path("report", "manual__no_such_run"), headers=bearer)
    assert unknown_run.status_code == 404
    assert unknown_run.text.startswith(f"No report for task {TASK_ID} of run manual__no_such_run of DAG {DAG_ID}")
    unknown_task = client.get(page_path("quality", report_run.run_id, task_id="run_quality_checks"), headers=bearer)
    assert unknown_task.status_code == 404 and unknown_task.text.startswith("No data quality page for task")
    assert unknown_task.headers["content-type"].startswith("text/plain")
