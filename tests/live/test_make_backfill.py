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

    # Without the day's events file, wait_for_log_data fails at once: the hours are history, long
    # past their late-data timeout, so there is nothing to wait for and nothing to retry.
    s3.delete_object(Bucket=BUCKET, Key=day_file)
    try:
        result = run_backfill(services, first, end, 2, report=lines.append, timeout=300, poll_seconds=0.5)
    finally:
        s3.upload_file(str(sample_data / day_file), BUCKET, day_file)

    assert not result.ok
    assert [f.logical_date for f in result.failures] == [
        first.replace(tzinfo=timezone.utc) + timedelta(hours=h) for h in range(HOURS)
    ]
    for failure in result.failures:
        assert failure.run_id and failure.run_id.startswith("backfill__")
        assert [task for task, _ in failure.tasks] == ["wait_for_log_data"], failure.tasks
        error = failure.tasks[0][1]  # the local stack sets sparkify_data_complete: "No data for the window …"
        assert f"s3://{BUCKET}/{day_file} is missing" in error or f"s3://{BUCKET}/{day_file} still missing" in error, (
            failure.tasks
        )
    summary = result.summary()
    assert f"{HOURS} of {HOURS} hours failed" in summary and "REPROCESS=failed" in summary
    assert all(f.run_id in summary for f in result.failures) and "task wait_for_log_data: " in summary
    progress = [PROGRESS.match(line) for line in lines[1:] if not line.startswith(("failed: ", TASK_LINE))]
    assert all(progress), lines
    assert sum(line.startswith(f"failed: hour {iso(first)}: run backfill__") for line in lines) == 1, lines
    failed_lines = [line for line in lines if line.startswith(TASK_LINE) and " wait_for_log_data failed" in line]
    assert failed_lines, lines
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
