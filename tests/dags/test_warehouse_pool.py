"""Every task that writes to the warehouse takes a slot of the `warehouse` pool, and no other task does."""

from __future__ import annotations

from sparkify.pools import WAREHOUSE_POOL
from tests.support import PROJECT_ROOT, WAREHOUSE_WRITERS


def test_every_warehouse_task_of_the_etl_uses_the_warehouse_pool():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_etl.py")).dags["sparkify_etl"]
    pools = {task.task_id: (task.pool, task.pool_slots) for task in dag.tasks}
    assert set(WAREHOUSE_WRITERS) <= set(pools)
    assert {task_id: pool for task_id, pool in pools.items() if task_id in WAREHOUSE_WRITERS} == dict.fromkeys(
        WAREHOUSE_WRITERS, (WAREHOUSE_POOL, 1)
    )
    assert {pool for task_id, (pool, _) in pools.items() if task_id not in WAREHOUSE_WRITERS} == {"default_pool"}
