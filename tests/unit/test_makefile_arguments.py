"""Make arguments reach the programs as data, never as shell code.

Each target runs with the program replaced by a recorder of its argv, and with arguments
that would run `touch` if make or the shell treated them as code. Before, `make run
START='$(shell touch ...)'` ran it in make, START='`touch ...`' and START='$$(touch ...)'
ran it in the shell, and START='$(touch ...)' silently became an empty argument.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

RECORDER = """#!{python}
import json, sys
with open({out!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def payloads(canary) -> list[str]:
    return [
        f"$(touch {canary}1)",
        f"`touch {canary}2`",
        f"$$(touch {canary}3)",
        f"$(shell touch {canary}4)",
        f'"; touch {canary}5; "',
        f"x' ; touch {canary}6 #",
        f"$$$$(touch {canary}7)",
    ]


@pytest.fixture
def make(tmp_path):
    """`make <target> VAR=value ...` with the venv's Python replaced by the recorder; returns the argv it got."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)  # a supported Python: tools/make-venv keeps the venv
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    lock = subprocess.run(
        [str(PROJECT_ROOT / "tools" / "pick-python"), "--lock", version], capture_output=True, text=True, check=True
    ).stdout.strip()
    (venv / ".installed").write_text(f"python {version} {sys.executable}\nlock {lock}\n")  # newer than the lock
    recorder = tmp_path / "python"
    record = tmp_path / "argv.jsonl"
    recorder.write_text(RECORDER.format(python=sys.executable, out=str(record)))
    recorder.chmod(0o755)

    def run(target: str, **variables: str) -> list[str]:
        record.unlink(missing_ok=True)
        assignments = [f"{name}={value}" for name, value in variables.items()]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
        result = subprocess.run(
            ["make", "-s", "-C", str(PROJECT_ROOT), target, f"VENV={venv}", f"PY={recorder}", *assignments],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        [argv] = [json.loads(line) for line in record.read_text().splitlines()]
        return argv

    return run


@pytest.mark.parametrize("index", range(7))
def test_run_and_backfill_pass_start_and_end_verbatim(make, tmp_path, index):
    canary = tmp_path / "ran"
    value = payloads(canary)[index]
    assert make("run", START=value, END=value) == ["-m", "local_stack", "run", value, value]
    assert make("backfill", START=value, END="2018-11-16", RUNS=value, REPROCESS=value) == [
        "-m",
        "local_stack",
        "backfill",
        value,
        "2018-11-16",
        "--runs",
        value,
        "--reprocess",
        value,
    ]
    assert not list(tmp_path.glob("ran*")), "an argument ran as code"


def test_the_other_targets_pass_their_arguments_verbatim(make, tmp_path):
    for value in payloads(tmp_path / "ran"):
        assert make("seed", DATA=value)[-2:] == ["seed", value]
        assert make("import-dwh-cfg", CFG=value, OUT=value)[-4:] == ["local_stack.dwh_cfg", value, "--out", value]
        assert make("bench", SCALE=value) == ["-m", "bench", "--scale", value]
        assert make("report", FETCH=value) == ["-m", "local_stack.make_report", "--fetch", value]
        assert make("up", EXECUTOR=value) == ["-m", "local_stack", "up", "--executor", value]
    # ARGS is a command line: passed as one string, which the program splits with shlex (quotes work).
    line = f"""dags trigger sparkify_etl --conf '{{"a": "$(touch {tmp_path}/ran8)"}}' `touch {tmp_path}/ran9` *"""
    assert make("airflow", ARGS=line) == ["-m", "local_stack", "airflow", "--line", line]
    assert not list(tmp_path.glob("ran*")), "an argument ran as code"


def test_the_airflow_line_is_split_like_a_shell_but_not_run(monkeypatch, tmp_path):
    from local_stack import cli

    got = []
    monkeypatch.setattr(cli.AirflowServices, "run_cli", lambda self, arguments: got.append(arguments) or 0)
    line = f"""dags trigger sparkify_etl --conf '{{"a": "$(touch {tmp_path}/ran)"}}' *"""
    assert cli.main(["airflow", "--line", line]) == 0
    assert got == [["dags", "trigger", "sparkify_etl", "--conf", f'{{"a": "$(touch {tmp_path}/ran)"}}', "*"]]
    assert cli.main(["airflow", "dags", "list"]) == 0 and got[-1] == ["dags", "list"]
    assert not list(tmp_path.glob("ran*"))


def test_defaults_and_omitted_options_still_work(make):
    assert make("run") == ["-m", "local_stack", "run", "2018-11-15T00:00:00Z", "2018-11-16T00:00:00Z"]
    assert make("bench") == ["-m", "bench"]
    assert make("report") == ["-m", "local_stack.make_report"]
    assert make("up") == ["-m", "local_stack", "up"]
    assert make("import-dwh-cfg", CFG="dwh.cfg")[-2:] == ["local_stack.dwh_cfg", "dwh.cfg"]
    assert make("backfill", START="a", END="b")[-4:] == ["--runs", "4", "--reprocess", "completed"]
