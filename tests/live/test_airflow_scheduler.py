"""The live scheduler: `airflow backfill create` over several hours, run by LocalExecutor."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.expected import expected_star, utc
from tests.live.conftest import DAG_ID
from tests.support import assert_star_matches, busiest_free_block, poll_until

pytestmark = pytest.mark.integration
HOURS = 4


def wait_for_backfill(api, backfill_id: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout

    def completed() -> dict | None:
        backfill = api.get(f"/api/v2/backfills/{backfill_id}")
        if backfill.get("completed_at"):
            return backfill
        runs = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"run_type": "backfill", "state": "running"})
        for run in runs["dag_runs"]:  # a failing task ends the wait with its error
            api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=max(1.0, deadline - time.monotonic()))
        return None

    return poll_until(completed, timeout, f"backfill {backfill_id} to complete", interval=1)


def test_the_scheduler_runs_a_backfill_of_several_hours(sparkify_dag_live, sample_data, db):
    services = sparkify_dag_live
    api = services.api()
    existing = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 1000})["dag_runs"]
    taken = {utc(r["logical_date"]) for r in existing if r["logical_date"]}
    first = busiest_free_block(sample_data, HOURS, taken)
    last = first + timedelta(hours=HOURS - 1)

    services.airflow("dags", "unpause", DAG_ID)
    created = services.airflow(
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        f"{first:%Y-%m-%dT%H:%M:%S}+00:00",
        "--to-date",
        f"{last:%Y-%m-%dT%H:%M:%S}+00:00",
        "--max-active-runs",
        "1",
    )
    backfills = api.get("/api/v2/backfills", params={"dag_id": DAG_ID})["backfills"]
    backfill = max(backfills, key=lambda b: b["id"])
    assert not backfill["completed_at"], created.stdout

    wait_for_backfill(api, backfill["id"], timeout=900)

    runs = api.get(
        f"/api/v2/dags/{DAG_ID}/dagRuns",
        params={
            "run_type": "backfill",
            "logical_date_gte": f"{first:%Y-%m-%dT%H:%M:%S}Z",
            "logical_date_lte": f"{last:%Y-%m-%dT%H:%M:%S}Z",
        },
    )["dag_runs"]
    intervals = sorted((r["data_interval_start"], r["data_interval_end"]) for r in runs)
    assert intervals == [
        (f"{first + timedelta(hours=h):%Y-%m-%dT%H:%M:%S}Z", f"{first + timedelta(hours=h + 1):%Y-%m-%dT%H:%M:%S}Z")
        for h in range(HOURS)
    ]
    assert {r["state"] for r in runs} == {"success"}, [(r["dag_run_id"], r["state"]) for r in runs]

    expected = expected_star(
        sample_data, [(first + timedelta(hours=h), first + timedelta(hours=h + 1)) for h in range(HOURS)]
    )
    assert len({row[1].hour for row in expected.songplays}) > 1, "the backfilled hours should contain plays"
    assert_star_matches(db, expected)
