"""`make backfill`'s module on the live scheduler, when hours fail: the progress shows tasks waiting
to retry, the result names each failed run with its failed task and the task's error, and running
the failed hours again with REPROCESS=failed loads them exactly.

Its success path (progress lines, parallelism, warehouse against the model) is in
test_parallel_backfill.py.
"""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from local_stack.backfill import run_backfill
from local_stack.backfill_progress import TASK_LINE
from tests.expected import expected_star, utc
from tests.live.conftest import DAG_ID
from tests.support import PROGRESS, WAITING, assert_star_matches, busiest_free_block, iso

pytestmark = pytest.mark.integration
HOURS = 2
BUCKET = "udacity-dend"


def test_failed_hours_are_named_with_their_errors_and_reprocess_failed_repairs_them(
    sparkify_dag_live, airflow_api, sample_data, s3, db
):
    services, api = sparkify_dag_live, airflow_api
    existing = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 1000})["dag_runs"]
    first = busiest_free_block(sample_data, HOURS, {utc(r["logical_date"]) for r in existing if r["logical_date"]})
    end = first + timedelta(hours=HOURS)
    day_file = f"log_data/{first:%Y/%m/%Y-%m-%d}-events.json"
    lines: list[str] = []

    def give_up_retrying(line: str) -> None:
        """Report callback: mark tasks waiting for a retry as failed, as a user would in the UI."""
        lines.append(line)
        # Only once both the counts line and a task line have reported the wait: acting on the first of
        # them would leave no up_for_retry try for the other to report.
        counted = any("waiting to retry" in seen and not seen.startswith(TASK_LINE) for seen in lines)
        reported = any(seen.startswith(TASK_LINE) and " stage_events failed (try 1 of 4)" in seen for seen in lines)
        if counted and reported:  # on every later line too: the other hour may start waiting later
            waiting = api.get(
                f"/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances",
                params={"state": "up_for_retry", "logical_date_gte": iso(first), "logical_date_lte": iso(end)},
            )
            for ti in waiting["task_instances"]:
                api.request(
                    "PATCH",
                    f"/api/v2/dags/{DAG_ID}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}",
                    json={"new_state": "failed"},
                ).raise_for_status()

    # Without the day's events file, stage_events fails and waits five minutes for its retry.
    s3.delete_object(Bucket=BUCKET, Key=day_file)
    try:
        result = run_backfill(services, first, end, 2, report=give_up_retrying, timeout=300, poll_seconds=0.5)
    finally:
        s3.upload_file(str(sample_data / day_file), BUCKET, day_file)

    assert not result.ok
    assert [f.logical_date for f in result.failures] == [
        first.replace(tzinfo=timezone.utc) + timedelta(hours=h) for h in range(HOURS)
    ]
    for failure in result.failures:
        assert failure.run_id and failure.run_id.startswith("backfill__")
        assert [task for task, _ in failure.tasks] == ["stage_events"], failure.tasks
        assert f"No object or prefix s3://{BUCKET}/{day_file}" in failure.tasks[0][1], failure.tasks
    summary = result.summary()
    assert f"{HOURS} of {HOURS} hours failed" in summary and "REPROCESS=failed" in summary
    assert all(f.run_id in summary for f in result.failures) and "task stage_events: " in summary
    progress = [PROGRESS.match(line) for line in lines[1:] if not line.startswith(("failed: ", TASK_LINE))]
    assert all(progress) and any(m[6] for m in progress), lines
    assert sum(line.startswith(f"failed: hour {iso(first)}: run backfill__") for line in lines) == 1, lines
    retry_lines = [
        line
        for line in lines
        if line.startswith(TASK_LINE) and " stage_events failed (try 1 of 4); retry due between " in line
    ]
    assert retry_lines and day_file in retry_lines[0], lines  # the due time and the error's first lines
    assert lines[-1].startswith(f"0/{HOURS} hours done, 0 running, {HOURS} failed"), lines
    assert db.execute("SELECT COUNT(*) FROM songplays").fetchone()[0] == 0

    # The repair the summary suggests: the failed hours again, with REPROCESS=failed.
    lines = []
    result = run_backfill(
        services, first, end, 2, report=lines.append, reprocess="failed", timeout=300, poll_seconds=0.5
    )
    assert result.ok, result.summary() + "\n" + "\n".join(lines)
    if lines[0].startswith(WAITING):  # Airflow closes a finished backfill within 30 seconds
        lines = lines[1:]
    assert lines[0].endswith(f"{HOURS} hourly runs, at most 2 at a time, reprocess failed"), lines
    assert all(PROGRESS.match(line) for line in lines[1:] if not line.startswith(TASK_LINE)), lines
    assert lines[-1].startswith(f"{HOURS}/{HOURS} hours done, 0 running, 0 failed"), lines
    assert result.summary().startswith(
        f"Backfill {result.backfill_id} of {DAG_ID} over [{iso(first)}, {iso(end)}): all {HOURS} hours loaded in "
    )
    expected = expected_star(sample_data, [(first, end)])
    assert expected.songplays
    assert_star_matches(db, expected)
