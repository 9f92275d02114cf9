"""How long a run waits for late data, and the durations operators type into Variables.

A run's day files are due when its window ends. It waits for them until the window's end plus
the Airflow Variable `sparkify_late_data_timeout` (default 2 hours), then fails. The wait is
measured from the window's end, not from when the task started: a backfill or a manual rerun of
an old window, whose files are long overdue, never waits; it fails at once if a file is missing.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

LATE_DATA_TIMEOUT_VARIABLE = "sparkify_late_data_timeout"
DEFAULT_LATE_DATA_TIMEOUT = "2h"
MAX_DURATION = timedelta(days=7)  # beyond a week, a wait or a deadline is a typo
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "": "minutes"}


class DurationSettingError(ValueError):
    """A duration Variable that cannot be used; the message names it and says what it accepts."""


def parse_duration(value: Any, variable: str, default: str) -> timedelta:
    """A Variable's duration: a number of minutes, or a number with `s`, `m` or `h` ("90s", "2h")."""
    match = _DURATION.match(str(value)) if not isinstance(value, bool) else None
    duration = timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))}) if match else None
    if duration is None or duration > MAX_DURATION:
        raise DurationSettingError(
            f"Airflow Variable {variable}={value!r} is not a usable duration: give minutes (30), or a number with "
            f"s, m or h (90s, 45m, 2h), up to 7 days (default {default})."
        )
    return duration


def late_data_timeout() -> timedelta:
    """The Variable `sparkify_late_data_timeout` (read at run time, never when the DAG is parsed)."""
    from airflow.sdk import Variable

    value = Variable.get(LATE_DATA_TIMEOUT_VARIABLE, default=DEFAULT_LATE_DATA_TIMEOUT)
    return parse_duration(value, LATE_DATA_TIMEOUT_VARIABLE, DEFAULT_LATE_DATA_TIMEOUT)


def wait_deadline(window_end: datetime, timeout: timedelta) -> datetime:
    """Until when a run waits for its window's files."""
    return window_end + timeout


def describe_timeout(timeout: timedelta) -> str:
    seconds = int(timeout.total_seconds())
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60}m"
    return f"{seconds}s"
