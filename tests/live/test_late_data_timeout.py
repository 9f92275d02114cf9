"""Late data that never comes: on the live scheduler and triggerer, the run waits deferred until the window's
end plus `sparkify_late_data_timeout`, then fails at once with a message naming the missing key and the window."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.live.conftest import DAG_ID
from tests.live.late_data_support import awaiting_late_data

pytestmark = pytest.mark.integration

TIMEOUT_VARIABLE = "sparkify_late_data_timeout"
# From the window's end. The sensor must start (and defer) within it: it started 8 s after the trigger on a 2-core
# machine (2026-12-07). The wait ends on the deferral's timeout, not on a poke (every 30 s, for the files), and the
# run failed 73 s after the window's end.
LATE_DATA_TIMEOUT = timedelta(minutes=1)
TIMEOUT_SETTING = "1m"  # the Variable's value for LATE_DATA_TIMEOUT


def iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


def test_a_file_that_never_comes_fails_the_run_after_the_timeout_naming_key_and_window(sparkify_dag_live, airflow_api):
    with awaiting_late_data(airflow_api):  # the stack's bucket gets no new files: as on AWS, wait for them
        _fails_after_the_timeout(airflow_api)


def _fails_after_the_timeout(api) -> None:
    api.request(
        "POST", "/api/v2/variables", json={"key": TIMEOUT_VARIABLE, "value": TIMEOUT_SETTING}
    ).raise_for_status()
    try:
        api.set_paused(DAG_ID, False)
        end = datetime.now(timezone.utc).replace(microsecond=0)  # a window that just ended: no file for today
        start = end - timedelta(hours=1)
        run_id = api.trigger(DAG_ID, None, conf={"window_start": iso(start), "window_end": iso(end)})["dag_run_id"]

        seen: list[str | None] = []
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            try:
                tis = api.task_instances(DAG_ID, run_id)
            except httpx.TransportError:  # the API server is slow on a loaded machine: ask again
                continue
            sensor = {ti["task_id"]: ti for ti in tis}.get("wait_for_log_data") or {}
            seen.append(sensor.get("state"))
            if sensor.get("state") in ("failed", "success", "up_for_retry"):
                break
            time.sleep(2)
        assert sensor.get("state") == "failed", (sensor, seen)
        assert "deferred" in seen, f"it waited in the triggerer first: {seen}"
        ended = datetime.fromisoformat(sensor["end_date"].replace("Z", "+00:00"))
        assert ended >= end + LATE_DATA_TIMEOUT, "not before the timeout after the window's end"

        error = ""
        for _ in range(20):  # task_error reads the log, and says "(log unavailable)" when the API times out
            error = api.task_error(sensor)
            if "Late data" in error:
                break
            time.sleep(3)
        days = sorted({start.date(), end.date()})
        keys = ", ".join(f"s3://udacity-dend/log_data/{d:%Y/%m}/{d:%Y-%m-%d}-events.json" for d in days)
        assert (
            f"Late data: {keys} still missing for the window [{start.isoformat()}, {end.isoformat()}), "
            f"{TIMEOUT_SETTING} after the window's end ({(end + LATE_DATA_TIMEOUT).isoformat()}; Airflow Variable "
            f"{TIMEOUT_VARIABLE})"
        ) in error, error
        assert sensor["try_number"] == 1, "no retries: waiting longer is what the timeout forbids"
        for _ in range(5):
            try:
                assert api.wait_for_run(DAG_ID, run_id, timeout=300, fail_fast=False)["state"] == "failed"
                break
            except httpx.TransportError:
                continue
    finally:
        api.request("DELETE", f"/api/v2/variables/{TIMEOUT_VARIABLE}")
