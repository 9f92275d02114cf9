"""How long a DAG file takes to parse in a fresh Python process, as a task process parses it.

Each sample is a new interpreter that imports `airflow.sdk` (every task process has it before it
parses the DAG file: the task runner is built on it), then times loading the DAG file as DagBag
does, and the DagBag's own processing of its DAGs (template files, cycle check). The files are
measured alternately, so that a change in the machine's load falls on all of them alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# Runs in the fresh interpreter: prints {"import": s, "bag": s, "total": s} for the file argv[1].
_PROBE = r"""
import json, sys, time
import airflow.sdk  # noqa: F401  (the task runner's own import)
from airflow.dag_processing.dagbag import DagBag
path = sys.argv[1]
began = time.perf_counter()
bag = DagBag(dag_folder=path, safe_mode=False, load_op_links=False)
total = time.perf_counter() - began
assert not bag.import_errors, bag.import_errors
print(json.dumps({"total": total, "dags": sorted(bag.dag_ids)}))
"""


def parse_seconds(path: Path, environment: Mapping[str, str]) -> float:
    """One sample: seconds for a fresh DagBag to parse `path`, after Airflow itself is imported."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"Parsing {path} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["total"]


def compare(paths: Sequence[Path], samples: int = 10, environment: Mapping[str, str] | None = None) -> dict[str, list]:
    """`samples` parse times of each file, taken alternately; by file name."""
    environment = dict(os.environ if environment is None else environment)
    times: dict[str, list[float]] = {path.name: [] for path in paths}
    for _ in range(samples):
        for path in paths:
            times[path.name].append(parse_seconds(path, environment))
    return times


def summary(times: dict[str, list[float]], dag_file: str, noop_file: str) -> dict:
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "samples": {k: [round(v, 4) for v in values] for k, values in times.items()},
        "median_seconds": {k: round(v, 4) for k, v in medians.items()},
        "ratio": round(medians[dag_file] / medians[noop_file], 3),
    }
