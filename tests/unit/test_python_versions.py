"""The per-version locks: requirements-py3.10.txt agrees with requirements.txt."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in (line.split("==") for line in path.read_text().splitlines() if "==" in line)
    }


def test_the_python_310_lock_is_generated_from_the_current_requirements_txt():
    header = (ROOT / "requirements-py3.10.txt").read_text()
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes()).hexdigest()
    assert f"# generated-from: requirements.txt sha256={digest}" in header, (
        "requirements.txt changed: regenerate requirements-py3.10.txt with tools/lock_for_python.py"
    )


def test_the_python_310_lock_agrees_with_requirements_txt():
    main, py310 = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-py3.10.txt")
    left_out = re.search(r"^# left-out \(.*\): (.*)$", (ROOT / "requirements-py3.10.txt").read_text(), re.M)
    assert sorted(set(main) - set(py310)) == sorted(left_out.group(1).split())
    for package in ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"):
        assert py310[package] == main[package]
    newer = {name: (py310[name], main[name]) for name in main.keys() & py310.keys()
             if Version(py310[name]) > Version(main[name])}
    assert newer == {}, "the 3.10 lock only steps pins down, never up"
