"""How long a run waits for late data.

A run's day files are due when its window ends. It waits for them until the window's end plus
the Airflow Variable `sparkify_late_data_timeout` (default 2 hours), then fails. The wait is
measured from the window's end, not from when the task started: a backfill or a manual rerun of
an old window, whose files are long overdue, never waits; it fails at once if a file is missing.

A bucket that receives no more files (the local stack's sample data: the Airflow Variable
`sparkify_data_complete` is true there) makes every wait pointless: a missing file fails the run at once,
with the bucket's newest day file in the message, whatever the window.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

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


# -- a bucket that holds all the data there will be -----------------------------------------------------

DATA_COMPLETE_VARIABLE = "sparkify_data_complete"
_DAY_DIRECTIVES = {"Y": r"\d{4}", "m": r"\d{2}", "d": r"\d{2}"}


class LateDataSettingError(ValueError):
    """A late-data setting that cannot be used; the message names it and says what it accepts."""


def parse_data_complete(value: Any) -> bool:
    """The Variable `sparkify_data_complete`: true or false (default false)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise LateDataSettingError(
        f"Airflow Variable {DATA_COMPLETE_VARIABLE}={value!r} is not true or false (default false)."
    )


def data_complete() -> bool:
    """The Variable `sparkify_data_complete` (read at run time): true when the bucket holds all the data there
    will be, as the local stack's sample does, so a missing day file never comes and a run does not wait for it.
    False (the default, AWS): day files arrive late, and a run waits `sparkify_late_data_timeout` for them."""
    from airflow.sdk import Variable

    return parse_data_complete(Variable.get(DATA_COMPLETE_VARIABLE, default="false"))


def day_of_key(key: str, template: str) -> date | None:
    """The UTC day a key made from `template` (strftime with %Y, %m and %d) is for; None if it is not one."""
    parts, seen = [], set()
    for literal, directive in re.findall(r"([^%]*)(%.|$)", template):
        parts.append(re.escape(literal))
        name = directive[1:]
        if name == "%":
            parts.append("%")
        elif name in _DAY_DIRECTIVES:
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>{_DAY_DIRECTIVES[name]})")
            seen.add(name)
        elif directive:
            return None  # a directive this reading does not know
    match = re.fullmatch("".join(parts), key) if seen == set(_DAY_DIRECTIVES) else None
    if match is None:
        return None
    try:
        return date(int(match["Y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


def newest_day_file(keys: Iterable[str], template: str) -> tuple[date, str] | None:
    """The newest day, and its key, among `keys` made from `template`."""
    days = [(day, key) for key in keys if (day := day_of_key(key, template)) is not None]
    return max(days) if days else None


def static_prefix(template: str) -> str:
    """The part of a key template before its first strftime directive: where to list its day files."""
    return template.split("%", 1)[0]
