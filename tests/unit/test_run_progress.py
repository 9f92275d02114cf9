"""`make run`'s progress: repeated "No tasks to run" warnings dropped; errors cut to their first lines."""

from __future__ import annotations

import logging

from local_stack.run_progress import RepeatFilter, error_lines


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("airflow.sdk.definitions.dag", logging.WARNING, __file__, 1, message, None, None)


def waiting(*tasks: str) -> str:
    return (
        "No tasks to run. unrunnable tasks: {"
        + ", ".join(f"<TaskInstance: sparkify_etl.{t} manual__x [None] ti_id={i}>" for i, t in enumerate(tasks))
        + "}"
    )


def test_the_same_waiting_tasks_are_logged_once_whatever_their_order():
    repeat_filter = RepeatFilter()
    kept = [
        repeat_filter.filter(record(m))
        for m in (
            waiting("end", "load_users_dim"),
            waiting("load_users_dim", "end"),
            waiting("load_users_dim", "end"),
            "[DAG TEST] starting task_id=stage_events",
            waiting("end"),
            waiting("end"),
            waiting("end", "load_users_dim"),
        )
    ]
    assert kept == [True, False, False, True, True, False, True]
    assert (repeat_filter.seen, repeat_filter.dropped) == (6, 3)


def test_error_lines_keep_the_type_and_the_first_lines():
    error = ValueError("line 1\nline 2\n\nline 3\nline 4\nline 5")
    assert error_lines(error) == ["ValueError: line 1", "line 2", "line 3", "... (2 more lines in the log)"]
    assert error_lines(None) == ["(no error recorded)"]
