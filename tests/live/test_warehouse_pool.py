"""A live Airflow started as `make up` starts it has the `warehouse` pool,
and its scheduler sees the DAG's tasks in it."""

from __future__ import annotations

import json

import pytest

from sparkify.pools import WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS

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
