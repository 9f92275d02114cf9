"""The DAG's own tasks, rendered for one run and executed the way a worker executes them.

The benchmark measures what `sparkify_etl` runs: each task is taken from the parsed DAG, its
templates (SQL files, Variables, the run's staging tables) are rendered with the DAG's Jinja
environment, and `execute` is called with a run's context. Airflow's own scheduling and
task-runner overhead are left out on purpose: they are the same for every loader.

Import only after the private stack's environment is in os.environ (Airflow reads its
configuration on first import). Variables come from AIRFLOW_VAR_* (see `variables`).
"""

from __future__ import annotations

import copy
import types
from pathlib import Path
from typing import Any

import pendulum

from bench.stack import BUCKET, MANIFEST_LOCATION, REGION

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The hour the hourly-run benchmark processes; the events day file covers the whole day.
WINDOW = ("2018-11-15T12:00:00+00:00", "2018-11-15T13:00:00+00:00")
RUN_ID = "scheduled__2018-11-15T12:00:00+00:00"
FACT_TASK = "load_songplays_fact"
QUALITY_TASK = "run_quality_checks"


def variables(log_prefix: str = "events/log_data/", song_prefix: str = "song_data/") -> dict[str, str]:
    """The Airflow Variables (as AIRFLOW_VAR_* environment variables) that point the DAG at the bench bucket."""
    return {
        "AIRFLOW_VAR_SPARKIFY_S3_BUCKET": BUCKET,
        "AIRFLOW_VAR_SPARKIFY_S3_REGION": REGION,
        "AIRFLOW_VAR_SPARKIFY_LOG_PREFIX": log_prefix,
        "AIRFLOW_VAR_SPARKIFY_SONG_PREFIX": song_prefix,
        "AIRFLOW_VAR_SPARKIFY_MANIFEST_LOCATION": MANIFEST_LOCATION,  # PrivateStack creates its bucket
    }


class DagRun:
    """One run of sparkify_etl over WINDOW: its context, and its tasks rendered for it."""

    def __init__(self, run_id: str = RUN_ID, window: tuple[str, str] = WINDOW) -> None:
        from airflow.sdk.execution_time.context import VariableAccessor

        from local_stack.airflow_runner import load_dag

        self.dag = load_dag()
        self.run_id = run_id
        start, end = pendulum.parse(window[0]), pendulum.parse(window[1])
        params = {**self.dag.params.dump(), "window_start": None, "window_end": None}
        dag_run = types.SimpleNamespace(
            run_id=run_id,
            run_type="scheduled",
            run_after=end,
            conf={},
            data_interval_start=start,
            data_interval_end=end,
            logical_date=start,
        )
        self.context: dict[str, Any] = {
            "dag": self.dag,
            "dag_run": dag_run,
            "run_id": run_id,
            "params": params,
            "data_interval_start": start,
            "data_interval_end": end,
            "logical_date": start,
            "ds": start.to_date_string(),
            "ts": start.isoformat(),
            "var": {"value": VariableAccessor(deserialize_json=False), "json": VariableAccessor(deserialize_json=True)},
        }
        self._env = self.dag.get_template_env()
        self._rendered: dict[str, Any] = {}

    def render(self, task_id: str, run_type: str = "scheduled"):
        """A copy of the task with its templates rendered for this run, as a run of `run_type` (the DAG
        keeps its templates). An XCom it pulls (stage_songs' manifest) comes from executing the task
        that returns it, rendered the same way: rendering stage_songs runs select_song_files."""
        task = copy.copy(self.dag.get_task(task_id))
        dag_run = types.SimpleNamespace(**{**vars(self.context["dag_run"]), "run_type": run_type})
        ti = _UpstreamResults(self, run_type)
        task.render_template_fields({**self.context, "dag_run": dag_run, "ti": ti}, self._env)
        return task

    def task(self, task_id: str):
        """The task rendered for this run, rendered once."""
        if task_id not in self._rendered:
            self._rendered[task_id] = self.render(task_id)
        return self._rendered[task_id]

    def execute(self, task: Any) -> Any:
        """Execute a task (or task id) as a worker would, with this run's context."""
        from airflow.sdk.bases.operator import ExecutorSafeguard

        task = self.task(task) if isinstance(task, str) else task
        context = {**self.context, "task": task, "ti": _task_instance(task.task_id)}
        # The task runner's token, which tells the operator it runs inside a task (else it warns).
        return task.execute(context, **{f"{type(task).__name__}__sentinel": ExecutorSafeguard.sentinel_value})

    def tasks_of_type(self, class_name: str) -> list[str]:
        """Task ids of the DAG's tasks of one operator class, in the DAG's order."""
        return [t.task_id for t in self.dag.tasks if type(t).__name__ == class_name]

    def stage_task(self, base_table: str) -> str:
        """The id of the staging task that loads `base_table` (or its run-scoped copy)."""
        for task_id in self.tasks_of_type("StageToRedshiftOperator"):
            if base_table in str(self.dag.get_task(task_id).table):
                return task_id
        raise LookupError(f"No StageToRedshiftOperator in the DAG loads {base_table}")

    @property
    def dimension_tasks(self) -> list[str]:
        return self.tasks_of_type("LoadDimensionOperator")

    def prepare(self) -> Any:
        """What the run does before staging: the create_tables task (the DDL, and any run-scoped tables)."""
        task = self.task("create_tables")  # a @task: call its function with its rendered arguments
        return task.python_callable(
            *task.op_args, **{**task.op_kwargs, "ti": _task_instance("create_tables"), "dag": self.dag, "task": task}
        )


class _UpstreamResults:
    """What rendering reads of a task instance: the return value of an upstream task, executed for it."""

    _upstream_map_indexes: dict = {}  # nothing is mapped: XComArg.resolve pulls the unmapped value

    def __init__(self, dag_run: DagRun, run_type: str) -> None:
        self.dag_run, self.run_type = dag_run, run_type

    def xcom_pull(self, task_ids: str, key: str = "return_value", **_: Any) -> Any:
        return self.dag_run.execute(self.dag_run.render(task_ids, self.run_type))


def _task_instance(task_id: str) -> Any:
    """What the tasks read of their task instance: the try, and (create_tables) which runs are active (none) and
    the states of the run's other tasks (none has run)."""
    return types.SimpleNamespace(
        task_id=task_id, try_number=1, map_index=-1, get_dr_count=lambda **_: 0, get_task_states=lambda **_: {}
    )
