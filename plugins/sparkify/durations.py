"""Durations typed into settings: a number of minutes, or a number with `s`, `m` or `h` ("90s", "2h")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

MAX_DURATION = timedelta(days=7)  # beyond a week, a wait, a deadline or a reuse is a typo
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "": "minutes"}


class DurationSettingError(ValueError):
    """A duration setting that cannot be used; the message names it and says what it accepts."""


def parse_duration(value: Any, setting: str, default: str | None = None) -> timedelta:
    """`value` as a duration. `setting` names it in the error, e.g. "Airflow Variable sparkify_late_data_timeout"."""
    if isinstance(value, timedelta) and timedelta(0) <= value <= MAX_DURATION:
        return value
    match = _DURATION.match(str(value)) if not isinstance(value, (bool, timedelta)) else None
    duration = timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))}) if match else None
    if duration is None or duration > MAX_DURATION:
        fallback = f" (default {default})" if default is not None else ""
        raise DurationSettingError(
            f"{setting}={value!r} is not a usable duration: give minutes (30), or a number with "
            f"s, m or h (90s, 45m, 2h), up to 7 days{fallback}."
        )
    return duration


def describe_duration(duration: timedelta) -> str:
    """`duration` the way a setting would give it: "2h", "45m", "90s"."""
    seconds = int(duration.total_seconds())
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60}m"
    return f"{seconds}s"
