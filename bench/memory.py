"""Peak memory of the stage step, each measurement in a fresh process.

The child (`python -m bench.memory <prefix> <warm-up prefix>`) parses the DAG and runs its
stage_events task once on a tiny file, so imports, clients and connections are in place; then
takes its resident size as the baseline, resets the kernel's high-water mark
(/proc/self/clear_refs), runs the stage step on the measured file, and reports the new high
-water mark minus the baseline. Where the mark cannot be reset, it falls back to
getrusage's lifetime peak, which can only overstate the growth.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.stack import PrivateStack
from bench.timing import Measurement

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _status_kib("VmHWM") <= _status_kib("VmRSS") + 1024


def child(prefix: str, warm_up_prefix: str) -> dict:
    """Measure the DAG's stage_events task on the day file under `prefix` (a key prefix in the bench bucket)."""
    from bench.pipeline import DagRun, variables

    dag_run = DagRun()
    task_id = dag_run.stage_task("staging_events")
    os.environ.update(variables(warm_up_prefix + "log_data/"))
    dag_run.execute(dag_run.render(task_id))  # warm up: imports, clients, connections
    os.environ.update(variables(prefix + "log_data/"))
    task = dag_run.render(task_id)
    gc.collect()
    baseline = _status_kib("VmRSS") * 1024
    reset = _reset_peak()
    rows = dag_run.execute(task)
    peak = _status_kib("VmHWM") * 1024 if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"rows": rows, "baseline_bytes": baseline, "peak_bytes": peak, "growth_bytes": peak - baseline,
            "method": "VmHWM after clear_refs" if reset else "ru_maxrss (lifetime peak)"}


def measure(stack: PrivateStack, table: str, prefix: str, warm_up_prefix: str) -> dict:
    """Run one child process against the stack (whose connections are in os.environ)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT / "include"), str(PROJECT_ROOT)])}
    with stack.connect() as conn:
        conn.execute(f"TRUNCATE {table}")
    result = subprocess.run(
        [sys.executable, "-m", "bench.memory", prefix, warm_up_prefix],
        capture_output=True, text=True, env=environment, cwd=PROJECT_ROOT, timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"The memory probe failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(stack: PrivateStack, dag_run, sizes: list[tuple[int, int, str]], warm_up_prefix: str, repeat: int,
        progress: Callable[[str], None]) -> dict:
    """`sizes` holds (events, bytes, key prefix) per file size; returns the section's JSON."""
    table = dag_run.task(dag_run.stage_task("staging_events")).table
    results = []
    for events, size, prefix in sizes:
        growth, peak, baseline, method = Measurement(unit="bytes"), Measurement(unit="bytes"), Measurement(unit="bytes"), ""
        for round_number in range(1, repeat + 1):
            sample = measure(stack, table, prefix, warm_up_prefix)
            if sample["rows"] != events:
                raise RuntimeError(f"The memory probe loaded {sample['rows']} rows, expected {events}")
            growth.samples.append(sample["growth_bytes"])
            peak.samples.append(sample["peak_bytes"])
            baseline.samples.append(sample["baseline_bytes"])
            method = sample["method"]
            progress(f"  stage step, {events:>9,} events ({size / 2**20:7.1f} MiB) round {round_number}/{repeat}: "
                     f"+{sample['growth_bytes'] / 2**20:6.1f} MiB over a baseline of {sample['baseline_bytes'] / 2**20:.0f} MiB")
        results.append({"events": events, "file_bytes": size, "growth": growth.as_dict(), "peak": peak.as_dict(),
                        "baseline": baseline.as_dict(), "method": method, "_growth": growth})
    return {"sizes": results}


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
