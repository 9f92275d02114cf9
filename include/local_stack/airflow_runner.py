"""Run sparkify_etl in-process with `dag.test()`: one run per window or per hour.

Import this module only after `StackSettings.environment()` is in os.environ,
because Airflow reads its configuration when it is first imported.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from local_stack.private_files import open_private_log
from local_stack.run_progress import RunProgress, quiet_repeats, verbose_requested
from local_stack.settings import PROJECT_ROOT

DAG_ID = "sparkify_etl"


def migrate_metadata_db(airflow_home: Path) -> None:
    """Create Airflow's SQLite metadata database on first use."""
    if (airflow_home / "airflow.db").exists():
        return
    airflow_home.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def load_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags[DAG_ID]


@contextmanager
def output_to(log_file: Path):
    """Send this process's stdout and stderr (file descriptors included) to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with os.fdopen(open_private_log(log_file), "ab") as target:  # 0600: a run's output may name connections
        os.dup2(target.fileno(), 1)
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_conf(conf: dict | None) -> dict:
    """Every window param, set explicitly: in-process runs keep params from one run to the next."""
    return {"window_start": None, "window_end": None, **(conf or {})}


def in_process_run(dag, logical_date: datetime | None, conf: dict | None):
    """`dag.test()` for one run, without the DAG's Deadline Alerts.

    Airflow 3.3's dag.test() fails when a run of a DAG with a deadline succeeds (it looks the
    in-process DAG's alerts up as stored alert ids). The late-run alert concerns scheduled runs
    only, which dag.test() never creates, so in-process runs drop it.
    """
    dag.deadline = None
    mask_secrets_in_output()
    return dag.test(logical_date=logical_date, run_conf=run_conf(conf))


def mask_secrets_in_output() -> None:
    """Mask registered secrets (connection passwords, COPY keys) in what an in-process run prints.

    A worker's task log is masked by the task supervisor; in-process, logging is airflow-core's,
    whose console output has no masking step: add the task SDK's before the final renderer.
    """
    import structlog
    from airflow.sdk.log import mask_logs

    processors = list(structlog.get_config()["processors"])
    if mask_logs not in processors:
        structlog.configure(processors=[*processors[:-1], mask_logs, processors[-1]])


def run_once(
    dag, logical_date: datetime, conf: dict | None, log_file: Path, progress: RunProgress | None = None
) -> str:
    """One DAG run, its output to `log_file` and a line per task event to the terminal; returns its final state."""
    terminal = None
    if progress is None:
        sys.stdout.flush()
        terminal = os.fdopen(os.dup(1), "w", buffering=1)  # the terminal, while stdout goes to the log file
        progress = RunProgress(terminal, verbose=verbose_requested())  # VERBOSE=1: every task's start and end
    progress.attach(dag)
    quiet_repeats()
    try:
        with output_to(log_file):
            run = in_process_run(dag, logical_date, conf)
    finally:
        if terminal is not None:
            terminal.close()
    return str(getattr(run.state, "value", run.state))


def run_window(start: datetime, end: datetime, log_file: Path) -> bool:
    """One run over [start, end), given as window params."""
    dag = load_dag()
    conf = {"window_start": start.isoformat(), "window_end": end.isoformat()}
    began = time.monotonic()
    state = run_once(dag, start, conf, log_file)
    print(f"{DAG_ID} [{start.isoformat()}, {end.isoformat()}) -> {state} ({time.monotonic() - began:.1f}s)")
    return state == "success"


def run_hours(start: datetime, end: datetime, log_file: Path) -> bool:
    """One run per hour of [start, end), as the hourly schedule would make them."""
    dag = load_dag()
    ok = True
    hour = start
    total = math.ceil((end - start) / timedelta(hours=1))
    while hour < end:
        began = time.monotonic()
        state = run_once(dag, hour, None, log_file)
        done = round((hour - start) / timedelta(hours=1)) + 1
        print(
            f"[{done}/{total}] {DAG_ID} hour {hour:%Y-%m-%d %H:%M} -> {state} ({time.monotonic() - began:.1f}s)",
            flush=True,
        )
        ok = ok and state == "success"
        hour += timedelta(hours=1)
    return ok
