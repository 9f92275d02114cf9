"""The no-op twin that the backfill benchmark compares sparkify_etl with: the same shape, no work."""

from __future__ import annotations

from airflow.dag_processing.dagbag import DagBag

from bench.noop_dag import noop_dag_source
from tests.support import PROJECT_ROOT


def test_the_twin_has_the_dags_tasks_dependencies_pools_timetable_and_outlets(tmp_path):
    real = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_etl.py")).dags["sparkify_etl"]
    path = tmp_path / "sparkify_etl_noop.py"
    path.write_text(noop_dag_source(real))
    bag = DagBag(dag_folder=str(path))
    assert bag.import_errors == {}
    twin = bag.dags["sparkify_etl_noop"]

    def shape(dag):
        return {
            t.task_id: (
                sorted(t.upstream_task_ids),
                t.pool,
                t.pool_slots,
                [o.uri for o in t.outlets],
                t.retries,
                t.retry_delay,
                float(t.retry_exponential_backoff),
                t.max_retry_delay,
                (t.is_setup, t.is_teardown, str(t.trigger_rule), t.on_failure_fail_dagrun),
            )
            for t in dag.tasks
        }

    assert shape(twin) == shape(real) and len(twin.tasks) == len(real.tasks) == 15
    assert (twin.timetable.expression, twin.start_date, twin.max_active_runs, twin.catchup) == (
        real.timetable.expression,
        real.start_date,
        real.max_active_runs,
        real.catchup,
    )
    work = {type(t).__name__ for t in twin.tasks if t.task_id != "end"}
    assert work == {"_PythonDecoratedOperator"}  # real tasks that do nothing
    assert twin.get_task("begin").python_callable() is None
    assert twin.get_task("drop_run_tables").is_teardown and twin.get_task("create_tables").is_setup
