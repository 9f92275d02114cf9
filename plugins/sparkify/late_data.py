"""How long a run waits for late data.

A run's day files are due when its window ends. It waits for them until the window's end plus
the Airflow Variable `sparkify_late_data_timeout` (default 2 hours), then fails. The wait is
measured from the window's end, not from when the task started: a backfill or a manual rerun of
an old window, whose files are long overdue, never waits; it fails at once if a file is missing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sparkify.durations import parse_duration

LATE_DATA_TIMEOUT_VARIABLE = "sparkify_late_data_timeout"
DEFAULT_LATE_DATA_TIMEOUT = "2h"


def late_data_timeout() -> timedelta:
    """The Variable `sparkify_late_data_timeout` (read at run time, never when the DAG is parsed)."""
    from airflow.sdk import Variable

    value = Variable.get(LATE_DATA_TIMEOUT_VARIABLE, default=DEFAULT_LATE_DATA_TIMEOUT)
    return parse_duration(value, f"Airflow Variable {LATE_DATA_TIMEOUT_VARIABLE}", DEFAULT_LATE_DATA_TIMEOUT)


def wait_deadline(window_end: datetime, timeout: timedelta) -> datetime:
    """Until when a run waits for its window's files."""
    return window_end + timeout
