"""CeleryExecutor (two workers) against LocalExecutor: the same hourly backfill, on the same machine.

    PYTHONPATH=plugins:include:. .venv/bin/python -m bench.executors [--hours 24] [--runs 4]

For each executor in turn, a private stack (warehouse emulator and moto on free ports, in a temp
folder; never `make up`'s ports or `.local/`) is seeded with the sample data of `make demo`
(seed 42), a private Airflow is started (`make up`'s code: LocalExecutor with parallelism 8, or
EXECUTOR=celery with two workers of concurrency 4, i.e. 8 slots too), and `make backfill`'s module
runs `--hours` hours of 2018-11-15 with `--max-active-runs` `--runs`. The clock covers the backfill
only: from `airflow backfill create` until every run has finished, not the start-up. It prints one
line per executor and the ratio, with the sum of the tasks' own run times, so that the difference
can be told apart from the tasks' work; the JSON goes to bench-results/executors-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from local_stack.airflow_services import AirflowPorts, AirflowServices, load_login
from local_stack.backfill import run_backfill
from local_stack.celery_services import CelerySettings
from local_stack.processes import free_port
from local_stack.s3_server import S3Server, manifest_bucket, upload_folder
from local_stack.sample_data import SampleSpec, generate
from local_stack.settings import load_settings
from local_stack.warehouse_server import WarehouseServer

RESULTS = Path(__file__).resolve().parents[1] / "bench-results"
FIRST_HOUR = datetime(2018, 11, 15, tzinfo=timezone.utc)


def measure(executor: str, hours: int, runs: int) -> dict:
    state = Path(tempfile.mkdtemp(prefix=f"sparkify-bench-{executor}-"))
    state.chmod(0o755)  # PostgreSQL runs as another user when we are root
    settings = load_settings(state_dir=state, warehouse_port=free_port(), s3_port=free_port())
    saved = dict(os.environ)
    os.environ.update(settings.environment())
    warehouse, s3 = WarehouseServer(settings), S3Server(settings)
    services = AirflowServices(
        settings,
        home=state / "airflow",
        login=load_login(),
        metadata_db=f"airflow_bench_{secrets.token_hex(4)}",
        ports=AirflowPorts(
            api=free_port(), worker_log_server=free_port(), trigger_log_server=free_port(), broker=free_port()
        ),
        extra_env={"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"},
        executor=executor,
        celery=CelerySettings(workers=2, concurrency=4),
    )
    try:
        s3.start()
        s3.ensure_bucket(manifest_bucket(), "us-west-2")
        warehouse.start()
        generate(state / "sample", SampleSpec())
        upload_folder(s3.client(), "udacity-dend", state / "sample", "us-west-2")
        services.start(timeout=900)
        started = time.monotonic()
        result = run_backfill(
            services, FIRST_HOUR, FIRST_HOUR + timedelta(hours=hours), runs, report=lambda line: None, timeout=7200
        )
        seconds = time.monotonic() - started
        if not result.ok:
            raise RuntimeError(f"{executor}: {result.summary()}")
        api = services.api()
        dag_runs = api.get("/api/v2/dags/sparkify_etl/dagRuns", params={"limit": 1000})["dag_runs"]
        durations = [
            ti["duration"] or 0 for run in dag_runs for ti in api.task_instances("sparkify_etl", run["dag_run_id"])
        ]
        hosts = {ti["hostname"] for run in dag_runs for ti in api.task_instances("sparkify_etl", run["dag_run_id"])}
        return {
            "executor": executor,
            "hours": hours,
            "max_active_runs": runs,
            "seconds": round(seconds, 1),
            "task_instances": len(durations),
            "task_seconds": round(sum(durations), 1),
            "hostnames": sorted(hosts),
            "load_average": os.getloadavg(),
        }
    finally:
        services.stop()
        s3.stop()
        warehouse.remove()
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(state, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.executors", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--runs", type=int, default=4, help="--max-active-runs of the backfill")
    args = parser.parse_args(argv)
    results = [measure(executor, args.hours, args.runs) for executor in ("local", "celery")]
    for r in results:
        print(
            f"{r['executor']:>6}: {r['hours']} h backfill in {r['seconds']:.0f} s; {r['task_instances']} task "
            f"instances, {r['task_seconds']:.0f} s of task run time; hosts {', '.join(r['hostnames'])}; "
            f"load {r['load_average'][0]:.1f}"
        )
    ratio = results[1]["seconds"] / results[0]["seconds"]
    print(f"celery / local wall time: {ratio:.2f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"executors-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps({"results": results, "ratio_celery_to_local": round(ratio, 3), "cpus": os.cpu_count()}, indent=2)
        + "\n"
    )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
