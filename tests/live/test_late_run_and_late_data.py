"""A scheduled hour whose day file is late, on a live Airflow that schedules: the run waits for the file in
the triggerer, the late-run Deadline Alert mails on-call meanwhile, and the run succeeds once the file arrives.

This Airflow is the only one in the tests with cron scheduling on: a Deadline Alert is for scheduled
runs, and only the scheduler creates them. `sparkify_late_run_minutes` is 0, so the run is due when
its interval ends, which has passed when the scheduler creates it; its day file (today's) is not in
the sample bucket until the test uploads it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest

from tests.live.conftest import DAG_ID, private_airflow
from tests.live.late_data_support import LATE_DATA_ENV
from tests.smtp_server import Mailbox, smtp_server
from tests.support import poll_until, reset_schema

pytestmark = pytest.mark.integration

BUCKET = "udacity-dend"
SAMPLE_DAY = "log_data/2018/11/2018-11-15-events.json"
TIMEOUT = 900


@pytest.fixture(scope="module")
def mailbox():
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def scheduling_airflow(stack, airflow_login, sample_data, mailbox):
    env = {
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
        "AIRFLOW_VAR_SPARKIFY_LATE_RUN_MINUTES": "0",
        "AIRFLOW_VAR_SPARKIFY_ALERT_EMAILS": "oncall@sparkify.test",
        "AIRFLOW_VAR_SPARKIFY_ALERT_SMTP_CONN_ID": "sparkify_alerts_smtp",
        "AIRFLOW_CONN_SPARKIFY_ALERTS_SMTP": mailbox.connection_json(),
        **LATE_DATA_ENV,  # today's file comes late here: wait for it, as on AWS
    }
    with private_airflow(stack, airflow_login, "scheduling", env) as services:
        yield services


def poll(what: str, check, timeout: float = TIMEOUT, every: float = 2.0):
    """Call `check` until it returns something truthy; fail with `what` after `timeout` seconds.

    A REST call that times out (the API server is slow on a loaded machine) counts as "not yet".
    """
    return poll_until(check, timeout, what, interval=every, ignoring=(httpx.TransportError,))


def set_paused(api, paused: bool) -> None:
    def patch():
        api.set_paused(DAG_ID, paused)
        return True

    poll(f"pausing the DAG ({paused})", patch, timeout=300)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def day_files(start: datetime, end: datetime) -> list[str]:
    days = sorted({start.date(), (end - timedelta(microseconds=1)).date()})
    return [f"log_data/{day:%Y/%m}/{day:%Y-%m-%d}-events.json" for day in days]


def late_file(sample_data, start: datetime) -> bytes:
    """A sample day's events, squeezed into the hour that starts at `start` (24 h into about 55 min)."""
    lines = (sample_data / SAMPLE_DAY).read_text().splitlines()
    day0 = int(datetime(2018, 11, 15, tzinfo=timezone.utc).timestamp() * 1000)
    first = int(start.timestamp() * 1000)
    events = [json.loads(line) for line in lines if line.strip()]
    for event in events:
        event["ts"] = first + (event["ts"] - day0) // 26
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()


def test_a_late_day_file_is_waited_for_and_the_late_run_alert_is_mailed(
    scheduling_airflow, mailbox, s3, db, sample_data
):
    api = scheduling_airflow.api()
    reset_schema(db)
    uploaded: list[str] = []
    today = datetime.now(timezone.utc)
    for key in day_files(today - timedelta(hours=2), today + timedelta(hours=1)):  # the files must come late
        s3.delete_object(Bucket=BUCKET, Key=key)
    set_paused(api, False)  # the scheduler creates the run of the last complete hour
    try:
        # The DAG stays unpaused until the end: the scheduler schedules no task of a paused DAG's runs.
        run = poll(
            "a scheduled run",
            lambda: min(
                api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"run_type": "scheduled"})["dag_runs"],
                key=lambda r: r["data_interval_start"],
                default=None,
            ),
        )
        run_id, start, end = run["dag_run_id"], utc(run["data_interval_start"]), utc(run["data_interval_end"])
        assert end - start == timedelta(hours=1) and end <= datetime.now(timezone.utc)

        def sensor_state():
            states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}
            assert states.get("wait_for_log_data") not in ("failed", "up_for_retry"), states
            return states.get("wait_for_log_data") == "deferred" and states

        states = poll("wait_for_log_data deferred", sensor_state)
        assert states["create_tables"] in (None, "none", "scheduled"), "nothing after the sensor ran yet"

        # The deadline (the interval's end + 0 minutes) has passed: the scheduler queues the callback and the
        # triggerer sends the mail, while the run still waits.
        def late_mail():
            return [
                m for m in mailbox.messages if m["Subject"].startswith("[sparkify] LATE") and run_id in m["Subject"]
            ]

        [mail] = poll("the late-run mail", late_mail, timeout=600)
        window = f"[{start.isoformat()}, {end.isoformat()})"
        assert mail["Subject"] == (
            f"[sparkify] LATE {DAG_ID} | run {run_id} | window {window} | not succeeded by {end.isoformat()}"
        ), mail["Subject"]
        body = Mailbox.body(mail)
        assert DAG_ID in body and run_id in body and window in body, body
        assert f"{scheduling_airflow.base_url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}" in body, body
        assert mail["X-Envelope-To"] == "oncall@sparkify.test"

        # The file arrives: the trigger sees it, and the run goes on to succeed.
        for key in day_files(start, end):
            s3.put_object(Bucket=BUCKET, Key=key, Body=late_file(sample_data, start))
            uploaded.append(key)

        def finished():
            failed = [ti["task_id"] for ti in api.task_instances(DAG_ID, run_id) if ti["state"] == "failed"]
            assert not failed, f"{failed} failed"
            run = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}")
            return run["state"] in ("success", "failed") and run

        assert poll("the run to finish", finished)["state"] == "success"
        plays = db.execute(
            "SELECT COUNT(*) FROM songplays WHERE start_time >= %s AND start_time < %s",
            (start.replace(tzinfo=None), end.replace(tzinfo=None)),
        ).fetchone()[0]
        assert plays > 0, "the late file's plays were loaded"
        assert len(late_mail()) == 1, "one alert per late run"
    finally:
        set_paused(api, True)
        for key in uploaded:
            s3.delete_object(Bucket=BUCKET, Key=key)
        for state in ("queued", "running"):  # the Airflow stops after the module; this keeps its log quiet
            for other in api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"state": state}).get("dag_runs", []):
                api.request(
                    "PATCH",
                    f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(other['dag_run_id'], safe='')}",
                    json={"state": "failed"},
                )
