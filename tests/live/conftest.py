"""Airflow as users run it: a live api-server, scheduler, dag-processor and triggerer for the tests.

`airflow_services` starts one Airflow installation for the whole session, on free ports
and with its own AIRFLOW_HOME under the test state folder, on top of the session's
private warehouse and S3 (tests/conftest.py), so it runs beside `make up`. It is an
`AirflowServices` (include/local_stack/airflow_services.py):

    airflow_services.base_url               http://localhost:<free port>
    airflow_services.login                  .username / .password (from .env)
    airflow_services.airflow("backfill", "create", ...)   the CLI, with this installation's env
    airflow_services.api()                  REST client: token, trigger, wait_for_run, get
    airflow_services.environment()          every variable the components run with

Cron scheduling is off (`[scheduler] use_job_schedule = False`), so the only runs are the
ones tests create (manual runs and backfills); the DAG starts paused, as on a fresh install.
`sparkify_dag_live` gives a test an empty warehouse and a clean slate of runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from local_stack.airflow_services import AirflowLogin, AirflowPorts, AirflowServices, load_login
from local_stack.celery_services import CelerySettings
from local_stack.processes import free_port
from tests.integration.conftest import sample_data  # noqa: F401  (the same seeded sample data)
from tests.support import reset_schema

DAG_ID = "sparkify_etl"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UNFINISHED = ("queued", "running")
CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember whether a test's body failed, so that fixtures can save evidence (screenshots)."""
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def airflow_login() -> AirflowLogin:
    """The login `make up` uses: SPARKIFY_AIRFLOW_USER / SPARKIFY_AIRFLOW_PASSWORD from .env."""
    return load_login()


@contextmanager
def private_airflow(
    stack,
    login: AirflowLogin,
    name: str,
    extra_env: dict[str, str],
    executor: str = "local",
    celery: CelerySettings | None = None,
) -> Iterator[AirflowServices]:
    """A live Airflow 3 on free ports, with its own home and metadata database, stopped after.

    `executor="celery"` (make up EXECUTOR=celery) adds a Redis broker on a free port and the workers.
    """
    services = AirflowServices(
        stack,
        home=stack.state_dir / f"airflow-{name}",
        ports=AirflowPorts(
            api=free_port(), worker_log_server=free_port(), trigger_log_server=free_port(), broker=free_port()
        ),
        login=login,
        metadata_db=f"airflow_{name}_{secrets.token_hex(4)}",
        extra_env=extra_env,
        executor=executor,
        celery=celery or CelerySettings(),
    )
    try:
        services.start(timeout=300)
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
def airflow_services(stack, airflow_login):
    """The session's live Airflow, with cron scheduling off."""
    with private_airflow(stack, airflow_login, "live", {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}) as services:
        yield services


@pytest.fixture(scope="session")
def airflow_api(airflow_services):
    return airflow_services.api()


@pytest.fixture
def sparkify_dag_live(airflow_services, airflow_api, sample_data, db):  # noqa: F811
    """An empty warehouse before the test; afterwards no run or backfill of the DAG is left going."""
    reset_schema(db)
    yield airflow_services
    for backfill in airflow_api.get("/api/v2/backfills", params={"dag_id": DAG_ID}).get("backfills", []):
        if not backfill.get("completed_at"):
            airflow_api.request("PUT", f"/api/v2/backfills/{backfill['id']}/cancel")
    for state in UNFINISHED:
        runs = airflow_api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"state": state}).get("dag_runs", [])
        for run in runs:
            path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run['dag_run_id'], safe='')}"
            airflow_api.request("PATCH", path, json={"state": "failed"})


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (no browser download: `make test` installs chromium)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium` (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
