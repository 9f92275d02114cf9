"""`make backfill`'s task lines, from the REST API's task instances: start, end, failure, retry due."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from local_stack.backfill_progress import TASK_LINE, TaskEvents, retry_window


def ti(task_id: str, state: str, try_number: int = 1, **fields) -> dict:
    return {
        "dag_run_id": "backfill__2018-11-15T07:00:00+00:00",
        "task_id": task_id,
        "state": state,
        "try_number": try_number,
        "max_tries": 3,
        "logical_date": "2018-11-15T07:00:00Z",
        **fields,
    }


def test_each_change_of_a_try_gives_one_line():
    errors = {
        "stage_events": "NoSourceObjects: No object or prefix s3://udacity-dend/log_data/x.json\nline 2\nline 3\nline 4"
    }
    events = TaskEvents(lambda t: errors[t["task_id"]])
    assert events.update([ti("begin", "running")]) == [f"{TASK_LINE}2018-11-15T07:00Z begin started (try 1 of 4)"]
    assert events.update([ti("begin", "running")]) == [], "no change, no line"
    assert events.update([ti("begin", "success", duration=1.2), ti("stage_events", "queued")]) == [
        f"{TASK_LINE}2018-11-15T07:00Z begin done (1s)"
    ]
    [line] = events.update([ti("stage_events", "up_for_retry", end_date="2018-11-29T07:00:00Z")])
    assert line == (
        f"{TASK_LINE}2018-11-15T07:00Z stage_events failed (try 1 of 4); retry due between 07:01:00 and "
        "07:01:59 UTC:\n      NoSourceObjects: No object or prefix s3://udacity-dend/log_data/x.json\n"
        "      line 2\n      line 3\n      ... (1 more lines)"
    )
    assert events.update([ti("stage_events", "running", 2)]) == [
        f"{TASK_LINE}2018-11-15T07:00Z stage_events started (try 2 of 4)"
    ]
    [line] = events.update([ti("stage_events", "failed", 2)])
    assert line.startswith(f"{TASK_LINE}2018-11-15T07:00Z stage_events failed (try 2 of 4):\n      NoSourceObjects")
    assert events.update([ti("load_users_dim", "upstream_failed")]) == [], "the counts line covers it"


def test_a_try_that_started_and_ended_between_two_polls_gets_both_lines():
    events = TaskEvents(lambda t: "")
    fast = ti("load_users_dim", "success", start_date="2018-11-29T07:00:00Z", duration=0.3)
    assert events.update([ti("load_users_dim", "queued")]) == []
    assert events.update([fast]) == [
        f"{TASK_LINE}2018-11-15T07:00Z load_users_dim started (try 1 of 4)",
        f"{TASK_LINE}2018-11-15T07:00Z load_users_dim done (0s)",
    ]
    assert events.update([fast]) == []


def test_retry_windows_double_and_stop_at_the_maximum():
    end = datetime(2018, 11, 29, 7, tzinfo=timezone.utc)
    windows = [retry_window({"end_date": end.isoformat(), "try_number": n}) for n in (1, 2, 3, 5, 9)]
    assert [(low - end, high - end) for low, high in windows] == [
        (timedelta(minutes=1), timedelta(seconds=119)),
        (timedelta(minutes=2), timedelta(seconds=239)),
        (timedelta(minutes=4), timedelta(seconds=479)),
        (timedelta(minutes=15), timedelta(minutes=15)),
        (timedelta(minutes=15), timedelta(minutes=15)),
    ]
    assert retry_window({"try_number": 1}) is None


def test_an_unreadable_log_does_not_stop_the_report():
    def broken(_ti):
        raise RuntimeError("api down")

    [line] = TaskEvents(broken).update([ti("stage_events", "failed", 4)])
    assert "(error unavailable: api down)" in line


def test_a_retrying_try_waits_a_few_polls_for_its_end_date_before_saying_waiting_to_retry():
    events = TaskEvents(lambda ti: "boom")
    early = ti("stage_events", "up_for_retry")
    assert events.update([early]) == []  # the end date is not there yet
    [line] = events.update([ti("stage_events", "up_for_retry", end_date="2018-11-29T07:00:00Z")])
    assert "retry due between" in line
    later = TaskEvents(lambda ti: "boom")
    lines = [line for _ in range(TaskEvents.END_DATE_POLLS) for line in later.update([early])]
    assert len(lines) == 1 and "waiting to retry" in lines[0]
