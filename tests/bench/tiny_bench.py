"""Run `python -m bench` at the tiny scale in a subprocess, as `make bench` runs it, for the smoke tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT


def run_tiny_bench(sections: str, out: Path, timeout: float) -> str:
    """Run the `sections` of the benchmark at the tiny scale, with no BENCH_* knob from this shell and
    its JSON in `out`; assert it succeeded and return its standard output."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    environment["PYTHONPATH"] = os.pathsep.join(str(PROJECT_ROOT / p) for p in ("plugins", "include", "."))
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "tiny", "--only", sections, "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return result.stdout
