"""`make stress` passes ROUNDS to the stress test as data, and the test reads it strictly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.live import stress
from tests.support import PROJECT_ROOT

RECORDER = """#!{python}
import json, os, sys
with open({out!r}, "a") as f:
    f.write(json.dumps([sys.argv[1:], os.environ.get("STRESS_ROUNDS")]) + "\\n")
"""


@pytest.fixture
def make_stress(tmp_path):
    """`make stress ROUNDS=...` with the venv's Python replaced by a recorder; returns (argv, STRESS_ROUNDS)."""
    if shutil.which("make") is None:
        pytest.skip("needs GNU make")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    lock = subprocess.run(
        [str(PROJECT_ROOT / "tools" / "pick-python"), "--lock", version], capture_output=True, text=True, check=True
    ).stdout.strip()
    (venv / ".installed").write_text(f"python {version} {sys.executable}\nlock {lock}\n")
    recorder, record = tmp_path / "python", tmp_path / "argv.jsonl"
    recorder.write_text(RECORDER.format(python=sys.executable, out=str(record)))
    recorder.chmod(0o755)

    def run(*assignments: str) -> tuple[list[str], str | None]:
        record.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "STRESS_"))}
        result = subprocess.run(
            ["make", "-s", "-C", str(PROJECT_ROOT), "stress", f"VENV={venv}", f"PY={recorder}", *assignments],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        [(argv, rounds)] = [json.loads(line) for line in record.read_text().splitlines()]
        return argv, rounds

    return run


def test_make_stress_runs_the_stress_test_with_enough_rounds_for_200_runs(make_stress):
    argv, rounds = make_stress()
    assert argv[:3] == ["-m", "pytest", "tests/live/test_stress_backfill.py"]
    assert int(rounds) == stress.rounds_for(200) == 5 and int(rounds) * stress.HOURS >= 200


def test_make_stress_also_runs_the_proofs_that_make_test_runs_smaller(make_stress):
    """The whole day of shuffled hourly runs: `make test` runs its busiest hours only (nothing dropped, only moved)."""
    argv, _ = make_stress()
    collected = subprocess.run(
        [sys.executable, *argv, "--collect-only"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert {line for line in collected.stdout.splitlines() if "::" in line} == {
        "tests/live/test_stress_backfill.py::test_busy_parallel_backfills_with_a_changing_catalogue",
        "tests/integration/test_run_semantics.py::test_all_24_hours_of_the_day_in_shuffled_order_equal_one_windowed_run",
    }


def test_rounds_reach_the_test_as_data(make_stress, tmp_path):
    for value in (f"$(touch {tmp_path}/ran1)", f"`touch {tmp_path}/ran2`", f"$$(touch {tmp_path}/ran3)", "7"):
        assert make_stress(f"ROUNDS={value}")[1] == value
    assert not list(tmp_path.glob("ran*")), "an argument ran as code"


def test_the_test_reads_rounds_strictly(monkeypatch):
    monkeypatch.delenv("STRESS_ROUNDS", raising=False)
    assert stress.requested_rounds() == 1  # `make test`: one round
    monkeypatch.setenv("STRESS_ROUNDS", "3")
    assert stress.requested_rounds() == 3
    for bad in ("0", "-1", "2.5", "many", "$(touch x)"):
        monkeypatch.setenv("STRESS_ROUNDS", bad)
        with pytest.raises(ValueError, match="whole number of rounds"):
            stress.requested_rounds()


def test_a_round_fails_on_any_failed_run_deadlock_model_difference_or_problem():
    from datetime import datetime

    def clean() -> stress.RoundResult:
        return stress.RoundResult(0, datetime(2018, 11, 20), runs=48, succeeded=48)

    assert clean().ok and "[OK]" in clean().line()
    spoiled = [clean() for _ in range(5)]
    spoiled[0].failed_runs.append("hour 2018-11-20T03Z: run r failed")
    spoiled[1].deadlocks_postgres.append("postgres.log: ERROR:  deadlock detected")
    spoiled[2].deadlocks_emulator.append("emulator.log: deadlock detected")
    spoiled[3].model_differences["songplays"] = "1 missing, 0 unexpected of 10"
    spoiled[4].problems.append("the catalogue never changed mid-way")
    for result in spoiled:
        assert not result.ok and "[FAILED]" in result.line()
    short = clean()
    short.succeeded = 47  # a run that did not finish is not a success
    assert not short.ok
    retried = clean()
    retried.retries += ["run a begin: 1 retries, ended success", "run b publish: 2 retries, ended success"]
    assert retried.ok and " 3 task retries" in retried.line()
    assert stress.summary([retried, spoiled[1]]) == (
        "stress: 2 rounds, 96 runs, 0 failed, 1 deadlocks, 3 task retries, 0 serialization failures met, "
        "0 transactions retried, peak 0 tables, 2/2 rounds equal to the model, 0.0 min"
    )
    # serialization failures are reported, not failed on: the tasks retry them by design
    serialized = clean()
    serialized.serialization_failures.append("emulator.log: serialization failure (1023) in pid 7: could not ...")
    serialized.serialization_retried = 1
    assert serialized.ok and "1 serialization failures met, 1 transactions retried in their task" in serialized.line()


def test_a_round_fails_when_its_tables_pass_the_bound_or_were_never_sampled():
    from datetime import datetime

    def sampled(peak: int, samples: int = 10) -> stress.RoundResult:
        tables = stress.TableCounts(peak=peak, samples=samples, at_end=16, cache_at_end=2, kept_runs_at_end=0)
        return stress.RoundResult(0, datetime(2018, 12, 1), runs=48, succeeded=48, tables=tables)

    assert sampled(4 * 8 + 16).ok  # four runs' 8 tables each, beside what stays
    assert "peak 48 tables (10 samples; bound 4 x 8 + 16 left at the end: 2 cached" in sampled(48).line()
    assert not sampled(4 * 8 + 17).ok and "[FAILED]" in sampled(49).line()
    assert not sampled(20, samples=0).ok


def test_the_month_plan_and_its_shorter_trials(monkeypatch):
    monkeypatch.delenv("STRESS_MONTH_DAYS", raising=False)
    month = stress.month_plan()
    assert month is stress.MONTH and month.hours == 720 and month.first_day.isoformat() == "2018-12-01"
    assert month.early_hours < month.change_after_done < month.late_from < month.hours
    monkeypatch.setenv("STRESS_MONTH_DAYS", "2")
    trial = stress.month_plan()
    assert trial.hours == 48 and trial.early_hours < trial.change_after_done < trial.late_from < trial.hours
    for bad in ("1", "31", "two", "$(touch x)"):
        monkeypatch.setenv("STRESS_MONTH_DAYS", bad)
        with pytest.raises(ValueError, match="whole number of days"):
            stress.month_plan()
    # the busy rounds keep their dates and length
    assert stress.round_spec(1).first_day.isoformat() == "2018-11-22" and stress.round_spec(1).days == 2
    assert stress.round_spec(0, stress.MONTH).days == 30
