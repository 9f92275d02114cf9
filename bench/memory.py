"""Peak memory of the stage step, in the Redshift emulator's process, which does the load's work.

The stage task only lists, writes a manifest and sends one COPY; the emulator's process reads
S3, parses and casts. So the measured figure (`growth`, and the targets) is the emulator's; the
task process's own growth is recorded beside it (`task_growth`).

Each measurement gets a fresh emulator (restarted; PostgreSQL keeps running) and a fresh child
process (`python -m bench.memory <prefix> <warm-up prefix> <emulator pid>`). The child parses
the DAG and runs its stage_events task once on a tiny file, so imports, clients and connections
are in place in both processes; then takes both resident sizes as baselines, resets both
kernel high-water marks (writing 5 to /proc/<pid>/clear_refs, which needs the same user or
root), runs the stage step on the measured file, and reports each new high-water mark minus its
baseline. Where a mark cannot be reset, it falls back to the process's lifetime peak (VmHWM
without reset; for the child, getrusage), which can only overstate the growth.
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


def _status_kib(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def _reset_peak(pid: int | str) -> bool:
    """Reset the high-water mark of `pid` to its resident size; False if the kernel would not."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return _status_kib(pid, "VmHWM") <= _status_kib(pid, "VmRSS") + 1024


def child(prefix: str, warm_up_prefix: str, emulator_pid: int) -> dict:
    """Measure the DAG's stage_events task on the day file under `prefix` (a key prefix in the bench bucket)."""
    from bench.pipeline import DagRun, variables

    dag_run = DagRun()
    task_id = dag_run.stage_task("staging_events")
    os.environ.update(variables(warm_up_prefix + "log_data/"))
    dag_run.execute(dag_run.render(task_id))  # warm up: imports, clients, connections (in both processes)
    os.environ.update(variables(prefix + "log_data/"))
    task = dag_run.render(task_id)
    gc.collect()
    baseline, emulator_baseline = _status_kib("self", "VmRSS") * 1024, _status_kib(emulator_pid, "VmRSS") * 1024
    reset, emulator_reset = _reset_peak("self"), _reset_peak(emulator_pid)
    rows = dag_run.execute(task)
    emulator_peak = _status_kib(emulator_pid, "VmHWM") * 1024
    peak = _status_kib("self", "VmHWM") * 1024 if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "rows": rows,
        "emulator_pid": emulator_pid,
        "baseline_bytes": emulator_baseline,
        "peak_bytes": emulator_peak,
        "growth_bytes": emulator_peak - emulator_baseline,
        "method": "emulator VmHWM after clear_refs" if emulator_reset else "emulator VmHWM (lifetime peak)",
        "task_baseline_bytes": baseline,
        "task_peak_bytes": peak,
        "task_growth_bytes": peak - baseline,
        "task_method": "VmHWM after clear_refs" if reset else "ru_maxrss (lifetime peak)",
    }


def measure(stack: PrivateStack, table: str, prefix: str, warm_up_prefix: str) -> dict:
    """Run one child process against the stack (whose connections are in os.environ), with a fresh emulator."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT / "include"), str(PROJECT_ROOT)]
        ),
    }
    with stack.connect() as conn:
        conn.execute(f"TRUNCATE {table}")
    stack.forget_staged_copies()  # the task COPYs the file, as for a new day file
    emulator_pid = stack.restart_emulator()  # else earlier loads' freed memory would hide this one's growth
    result = subprocess.run(
        [sys.executable, "-m", "bench.memory", prefix, warm_up_prefix, str(emulator_pid)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"The memory probe failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(
    stack: PrivateStack,
    dag_run,
    sizes: list[tuple[int, int, str]],
    warm_up_prefix: str,
    repeat: int,
    progress: Callable[[str], None],
) -> dict:
    """`sizes` holds (events, bytes, key prefix) per file size; returns the section's JSON."""
    table = dag_run.task(dag_run.stage_task("staging_events")).table
    results = []
    for events, size, prefix in sizes:
        figures = {
            name: Measurement(unit="bytes")
            for name in ("growth", "peak", "baseline", "task_growth", "task_peak", "task_baseline")
        }
        for round_number in range(1, repeat + 1):
            sample = measure(stack, table, prefix, warm_up_prefix)
            if sample["rows"] != events:
                raise RuntimeError(f"The memory probe loaded {sample['rows']} rows, expected {events}")
            for name, figure in figures.items():
                figure.samples.append(sample[f"{name}_bytes"])
            progress(
                f"  stage step, {events:>9,} events ({size / 2**20:7.1f} MiB) round {round_number}/{repeat}: "
                f"emulator +{sample['growth_bytes'] / 2**20:6.1f} MiB over {sample['baseline_bytes'] / 2**20:.0f} MiB, "
                f"task +{sample['task_growth_bytes'] / 2**20:6.1f} MiB "
                f"over {sample['task_baseline_bytes'] / 2**20:.0f} MiB"
            )
        results.append(
            {
                "events": events,
                "file_bytes": size,
                **{k: m.as_dict() for k, m in figures.items()},
                "method": sample["method"],
                "task_method": sample["task_method"],
                "_growth": figures["growth"],
                "_task_growth": figures["task_growth"],
            }
        )
    return {
        "process": "the Redshift emulator (growth, peak, baseline); the task process beside it (task_*)",
        "sizes": results,
    }


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    print(json.dumps(child(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
