"""A live Airflow started as `make up` starts it has the `warehouse` pool, and no more warehouse tasks than its
slots execute at once."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from sparkify.pools import WAREHOUSE_POOL, WAREHOUSE_POOL_DESCRIPTION, WAREHOUSE_POOL_SLOTS
from tests.support import WAREHOUSE_WRITERS, poll_until

pytestmark = pytest.mark.integration


def test_starting_airflow_creates_the_warehouse_pool(airflow_services, airflow_api):
    listed = json.loads(airflow_services.airflow("pools", "get", WAREHOUSE_POOL, "--output", "json").stdout)
    assert [(p["pool"], int(p["slots"])) for p in listed] == [(WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS)]
    pool = airflow_api.get(f"/api/v2/pools/{WAREHOUSE_POOL}")
    assert pool["slots"] == WAREHOUSE_POOL_SLOTS
    # a second start (make up again) neither fails nor resizes a pool changed by hand
    airflow_services.airflow("pools", "set", WAREHOUSE_POOL, "2", "resized by hand")
    assert airflow_services.ensure_pools() == []
    assert airflow_api.get(f"/api/v2/pools/{WAREHOUSE_POOL}")["slots"] == 2
    airflow_services.airflow("pools", "set", WAREHOUSE_POOL, str(WAREHOUSE_POOL_SLOTS), "restored")


POOL_TEST_SLOTS = 2
POOL_TEST_HOURS = 4


def patiently(what: str, check, timeout: float = 1200):
    """Call `check` until it returns something truthy; a REST call that times out (a loaded machine) is "not yet"."""
    return poll_until(check, timeout, what, interval=2, ignoring=(httpx.TransportError,))


def test_no_more_warehouse_tasks_than_the_pools_slots_run_at_once(sparkify_dag_live, airflow_api, sample_data):
    """A backfill of 4 hours, 4 at a time, with a 2-slot pool: at most 2 warehouse tasks executed at any instant."""
    from tests.expected import utc
    from tests.live.conftest import DAG_ID
    from tests.support import block_runs, busiest_free_block, iso, most_at_once

    services, api = sparkify_dag_live, airflow_api
    existing = patiently("the runs", lambda: api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 1000}))
    first = busiest_free_block(
        sample_data, POOL_TEST_HOURS, {utc(r["logical_date"]) for r in existing["dag_runs"] if r["logical_date"]}
    )
    services.airflow("pools", "set", WAREHOUSE_POOL, str(POOL_TEST_SLOTS), "2 slots for the concurrency test")
    try:
        patiently(
            "earlier backfills to close",
            lambda: all(
                b.get("completed_at") for b in api.get("/api/v2/backfills", params={"dag_id": DAG_ID})["backfills"]
            ),
            timeout=600,
        )
        patiently("unpausing", lambda: api.set_paused(DAG_ID, False) or True)
        services.airflow(
            "backfill",
            "create",
            "--dag-id",
            DAG_ID,
            "--from-date",
            iso(first),
            "--to-date",
            iso(first + timedelta(hours=POOL_TEST_HOURS - 1)),
            "--max-active-runs",
            "4",
        )

        def finished():
            runs = block_runs(api, first, POOL_TEST_HOURS)
            done = len(runs) == POOL_TEST_HOURS and all(r["state"] in ("success", "failed") for r in runs)
            return done and runs

        runs = patiently("the backfill's runs to finish", finished)
    finally:
        services.airflow("pools", "set", WAREHOUSE_POOL, str(WAREHOUSE_POOL_SLOTS), WAREHOUSE_POOL_DESCRIPTION)

    assert [(r["run_type"], r["state"]) for r in runs] == [("backfill", "success")] * POOL_TEST_HOURS
    warehouse = [
        (f"{r['dag_run_id']}/{ti['task_id']}", ti["start_date"], ti["end_date"])
        for r in runs
        for ti in r["task_instances"]
        if ti["pool"] == WAREHOUSE_POOL
    ]
    assert sorted(w[0] for w in warehouse) == sorted(f"{r['dag_run_id']}/{t}" for r in runs for t in WAREHOUSE_WRITERS)
    assert most_at_once([(r["dag_run_id"], r["start_date"], r["end_date"]) for r in runs]) >= 3, (
        "several runs wanted the warehouse at once"
    )
    assert most_at_once(warehouse) == POOL_TEST_SLOTS, "never more than the slots, and the slots were all used"
