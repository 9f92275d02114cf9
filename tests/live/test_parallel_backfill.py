"""Parallel backfills on the live scheduler give the same warehouse as a sequential backfill and
as one windowed run over the same hours.

Both backfills go through `make backfill`'s module (include/local_stack/backfill.py), which runs
`airflow backfill create --dag-id sparkify_etl --from-date … --to-date … --max-active-runs N` and
follows the runs through the REST API. The warehouse is emptied before each variant; each one is
compared with the independent model (tests/expected.py) and by per-table checksums with the others.
The runs' and tasks' start and end dates show that the parallel backfill really ran hours at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from local_stack.backfill import run_backfill
from local_stack.backfill_progress import TASK_LINE
from local_stack.run_progress import VERBOSE_VARIABLE
from tests.expected import expected_star, utc
from tests.live.conftest import DAG_ID
from tests.support import (
    PROGRESS,
    WAITING,
    assert_star_matches,
    block_runs,
    busiest_free_block,
    checksums,
    iso,
    most_at_once,
    reset_schema,
)

pytestmark = pytest.mark.integration
HOURS = 3  # enough to show hours overlapping; more only lengthen `make test` (6 took 153 s, 2026-12-07)
PARALLEL = 2  # fewer than HOURS: the third hour waits for a slot, so the cap is tested too
TIMEOUT = 600


def concurrency(runs: list[dict]) -> tuple[int, int]:
    """(most runs running at once, most runs with a task executing at once)."""
    run_spans = [(r["dag_run_id"], r["start_date"], r["end_date"]) for r in runs]
    task_spans = [(r["dag_run_id"], ti["start_date"], ti["end_date"]) for r in runs for ti in r["task_instances"]]
    return most_at_once(run_spans), most_at_once(task_spans)


@pytest.fixture(autouse=True)
def task_lines(monkeypatch) -> None:
    """The task-by-task lines (`make backfill VERBOSE=1`): they show the hours' tasks overlapping."""
    monkeypatch.setenv(VERBOSE_VARIABLE, "1")


def backfill(services, api, first: datetime, max_active_runs: int) -> tuple[list[str], list[dict]]:
    """Run one backfill through the module; returns its progress lines and its finished runs."""
    lines: list[str] = []
    result = run_backfill(
        services,
        first,
        first + timedelta(hours=HOURS),
        max_active_runs,
        report=lines.append,
        timeout=TIMEOUT,
        poll_seconds=0.5,
    )
    assert result.ok, result.summary() + "\n" + "\n".join(lines)
    lines = [line for line in lines if not line.startswith(WAITING)]  # for the previous backfill to close
    task_lines = [line for line in lines if line.startswith(TASK_LINE)]
    assert any(" load_songplays_fact started" in line for line in task_lines), lines
    assert any(" load_songplays_fact done" in line for line in task_lines), lines
    lines = [line for line in lines if not line.startswith(TASK_LINE)]
    assert api.get(f"/api/v2/backfills/{result.backfill_id}")["max_active_runs"] == max_active_runs
    runs = block_runs(api, first, HOURS)
    assert [(r["data_interval_start"], r["data_interval_end"], r["run_type"], r["state"]) for r in runs] == [
        (iso(first + timedelta(hours=h)), iso(first + timedelta(hours=h + 1)), "backfill", "success")
        for h in range(HOURS)
    ]
    assert all(ti["state"] == "success" for r in runs for ti in r["task_instances"])
    return lines, runs


def test_a_parallel_backfill_equals_a_sequential_one_and_one_windowed_run(sparkify_dag_live, sample_data, db):
    services = sparkify_dag_live
    api = services.api()
    existing = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 1000})["dag_runs"]
    first = busiest_free_block(sample_data, HOURS, {utc(r["logical_date"]) for r in existing if r["logical_date"]})
    end = first + timedelta(hours=HOURS)
    expected = expected_star(sample_data, [(first, end)])
    assert len({row[1].hour for row in expected.songplays}) >= HOURS - 1, "the block should be busy"

    # 1. In parallel: up to PARALLEL hours at once.
    lines, runs = backfill(services, api, first, PARALLEL)
    runs_at_once, working_at_once = concurrency(runs)
    assert 2 <= runs_at_once <= PARALLEL, runs_at_once
    assert working_at_once >= 2, "tasks of different hours should have executed at the same time"
    assert lines[0].endswith(f"{HOURS} hourly runs, at most {PARALLEL} at a time, reprocess completed"), lines
    progress = [PROGRESS.match(line) for line in lines[1:]]
    assert all(progress), lines
    done = [int(m[1]) for m in progress]
    assert done == sorted(done) and {int(m[2]) for m in progress} == {HOURS}, lines
    assert max(int(m[3]) for m in progress) <= PARALLEL and all(m[5] == "0" for m in progress), lines
    assert lines[-1].startswith(f"{HOURS}/{HOURS} hours done, 0 running, 0 failed"), lines
    assert_star_matches(db, expected)
    parallel = checksums(db)

    # 2. One manual run whose window params cover the same hours (meanwhile Airflow closes the backfill).
    reset_schema(db)
    run = api.trigger(DAG_ID, None, conf={"window_start": iso(first), "window_end": iso(end)})
    assert api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=TIMEOUT)["state"] == "success"
    assert_star_matches(db, expected)
    windowed = checksums(db)

    # 3. One hour at a time, over the same hours (their finished runs are run again).
    reset_schema(db)
    _, runs = backfill(services, api, first, 1)
    assert concurrency(runs) == (1, 1), "a sequential backfill runs one hour at a time"
    assert_star_matches(db, expected)
    sequential = checksums(db)

    assert parallel == sequential == windowed
    assert parallel["songplays"][0] == len(expected.songplays) > 0
