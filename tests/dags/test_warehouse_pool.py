"""Every task that writes to the warehouse takes a slot of the `warehouse` pool."""

from __future__ import annotations

from sparkify.pools import WAREHOUSE_POOL
from tests.support import PROJECT_ROOT

# Tasks of sparkify_etl that never touch the warehouse; every other task writes to it.
NO_WAREHOUSE = {"begin", "wait_for_log_data", "end"}


def test_every_warehouse_task_of_the_etl_uses_the_warehouse_pool():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_etl.py")).dags["sparkify_etl"]
    writers = {task.task_id: task.pool for task in dag.tasks if task.task_id not in NO_WAREHOUSE}
    assert set(writers) >= {
        "create_tables",
        "stage_events",
        "stage_songs",
        "load_songplays_fact",
        "load_users_dim",
        "load_songs_dim",
        "load_artists_dim",
        "load_time_dim",
        "run_quality_checks",
    }
    assert writers == dict.fromkeys(writers, WAREHOUSE_POOL)
    assert all(dag.get_task(task_id).pool_slots == 1 for task_id in writers)
    assert {dag.get_task(task_id).pool for task_id in NO_WAREHOUSE} == {"default_pool"}
