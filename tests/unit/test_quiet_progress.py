"""`make run`, `make demo` and `make backfill` by default: failures only, one line per run from the caller;
VERBOSE=1 adds every task's start and end."""

from __future__ import annotations

import io
import types
from datetime import datetime, timezone

import pytest
from airflow.sdk.exceptions import AirflowFailException

from local_stack.backfill_progress import TASK_LINE, TaskEvents
from local_stack.run_progress import RunProgress, verbose_requested
from tests.unit.test_backfill_progress import ti


@pytest.mark.parametrize(("value", "verbose"), [("1", True), ("yes", True), ("", False), ("0", False), (None, False)])
def test_verbose_is_asked_for_with_the_make_variable(value, verbose):
    assert verbose_requested({} if value is None else {"VERBOSE": value}) is verbose


def context(task_id: str, exception: BaseException | None = None) -> dict:
    task = types.SimpleNamespace(retries=0)
    return {"ti": types.SimpleNamespace(task_id=task_id, try_number=1), "task": task, "exception": exception}


def run_tasks(verbose: bool) -> list[str]:
    stream = io.StringIO()
    progress = RunProgress(stream, clock=lambda: datetime(2018, 11, 15, 7, tzinfo=timezone.utc), verbose=verbose)
    for task_id in ("begin", "wait_for_log_data", "create_tables"):
        progress.task_started(context(task_id))
        progress.task_done(context(task_id))
    progress.task_started(context("stage_events"))
    progress.task_failed(context("stage_events", AirflowFailException("No day file for 2018-11-15")))
    return stream.getvalue().splitlines()


def test_a_quiet_run_prints_only_its_failure():
    assert run_tasks(verbose=False) == [
        "  07:00:00  stage_events failed after 0s; no retry:",
        "  07:00:00      AirflowFailException: No day file for 2018-11-15",
    ]


def test_a_verbose_run_prints_every_task():
    lines = run_tasks(verbose=True)
    assert len(lines) == 3 * 2 + 1 + 2
    assert lines[0] == "  07:00:00  begin started" and lines[1].startswith("  07:00:00  begin done (")


def test_a_quiet_backfill_reports_failures_and_not_starts_or_ends():
    events = TaskEvents(lambda t: "NoSourceObjects: missing", verbose=False)
    assert events.update([ti("begin", "running")]) == []
    assert events.update([ti("begin", "success", duration=1.0, start_date="2018-11-29T07:00:00Z")]) == []
    [line] = events.update([ti("stage_events", "failed", 4, start_date="2018-11-29T07:00:00Z")])
    assert line == f"{TASK_LINE}2018-11-15T07:00Z stage_events failed (try 4 of 4):\n      NoSourceObjects: missing"
