"""The time window a DAG run processes, and the validation of user-given windows.

Scheduled and backfill runs process their data interval [start, end). A manual run
processes the hour that contains its logical date, unless it is given both
`window_start` and `window_end` params, which are validated here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pendulum

DEFAULT_MAX_WINDOW_DAYS = 31
MAX_MAX_WINDOW_DAYS = 366 * 100  # a century: beyond it a window is a typo (and timedelta overflows)
MAX_WINDOW_DAYS_VARIABLE = "sparkify_max_window_days"


class WindowError(ValueError):
    """A window parameter that cannot be used; the message says why."""


class WindowRefused(SystemExit):
    """How `begin` ends a run whose window cannot be used: one line in its log, no traceback.

    Airflow 3.3's task runner logs any other exception with its traceback, a SystemExit as
    "Task exited" alone. The exit code is 1; str() is the one-line reason, which failure
    notifications show. `begin`'s retry policy fails it at once (sparkify.retry_policy.fail_at_once_on).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(1)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class RunWindow:
    """A half-open UTC interval [start, end)."""

    start: pendulum.DateTime
    end: pendulum.DateTime

    def days(self) -> list[date]:
        """Every UTC calendar day that the window touches."""
        first = self.start.date()
        last = (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def sql_parameters(self) -> dict[str, datetime]:
        """Bounds as naive UTC datetimes, matching TIMESTAMP (without time zone) columns."""
        return {"window_start": _naive_utc(self.start), "window_end": _naive_utc(self.end)}

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"

    def note(self) -> str:
        """The run's note in the UI, e.g. "window 2018-11-15 07:00–08:00 UTC" (the end is excluded)."""
        start, end = self.start, self.end
        if end.date() == start.date():
            return f"window {short_instant(start)}–{_clock(end)} UTC"
        if end == start.add(days=1).start_of("day"):  # up to midnight: "24:00", not the next day's "00:00"
            return f"window {short_instant(start)}–24:00 UTC"
        return f"window {short_instant(start)} – {short_instant(end)} UTC"


def _clock(instant: datetime) -> str:
    return instant.strftime("%H:%M:%S" if instant.second or instant.microsecond else "%H:%M")


def short_instant(instant: datetime) -> str:
    """A UTC instant as a person writes it: "2018-11-15 07:00" (seconds only when there are some)."""
    utc = pendulum.instance(instant, tz="UTC").in_tz("UTC")
    return f"{utc.date().isoformat()} {_clock(utc)}"


def failure_note(error: WindowError) -> str:
    """The one line a run that cannot use its window shows: its note and the top of `begin`'s log."""
    return f"Invalid window: {error}"


def _naive_utc(instant: datetime) -> datetime:
    return datetime.fromtimestamp(instant.timestamp(), tz=timezone.utc).replace(tzinfo=None)


def parse_instant(value: Any, name: str) -> pendulum.DateTime:
    """Parse an ISO 8601 date or date-time; a value without an offset is taken as UTC."""
    if isinstance(value, datetime):
        parsed = pendulum.instance(value, tz="UTC")
    elif isinstance(value, str) and value.strip():
        try:
            result = pendulum.parse(value.strip(), tz="UTC", strict=True)
        except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError) as error:
            raise WindowError(f"{name}={value!r} is not an ISO 8601 date or date-time ({error}).") from None
        if not isinstance(result, datetime):
            raise WindowError(f"{name}={value!r} is not an ISO 8601 date or date-time.")
        parsed = result
    else:
        raise WindowError(f"{name}={value!r} is not an ISO 8601 date or date-time.")
    return parsed.in_tz("UTC")


def parse_max_window_days(value: Any) -> float:
    """The Variable `sparkify_max_window_days`: a positive, finite number of days (a century at most)."""
    days = math.nan
    if not isinstance(value, bool):
        try:
            days = float(value if isinstance(value, (int, float)) else str(value).strip())
        except (ValueError, OverflowError):
            pass
    if not (math.isfinite(days) and 0 < days <= MAX_MAX_WINDOW_DAYS):
        raise WindowError(
            f"Airflow Variable {MAX_WINDOW_DAYS_VARIABLE}={value!r} is not a usable maximum: give a positive "
            f"number of days up to {MAX_MAX_WINDOW_DAYS} (default {DEFAULT_MAX_WINDOW_DAYS})."
        )
    return days


def validate_window(start: Any, end: Any, max_days: float | str = DEFAULT_MAX_WINDOW_DAYS) -> RunWindow:
    max_days = parse_max_window_days(max_days)
    begin, finish = parse_instant(start, "window_start"), parse_instant(end, "window_end")
    if finish <= begin:
        raise WindowError(
            f"window_end {short_instant(finish)} must be after window_start {short_instant(begin)} (UTC)."
        )
    if finish - begin > timedelta(days=max_days):
        raise WindowError(
            f"The window {short_instant(begin)} to {short_instant(finish)} UTC is longer than the maximum of "
            f"{max_days:g} days (Airflow Variable {MAX_WINDOW_DAYS_VARIABLE}). Split it into several runs."
        )
    return RunWindow(begin, finish)


def hour_containing(instant: datetime) -> RunWindow:
    start = pendulum.instance(instant, tz="UTC").in_tz("UTC").start_of("hour")
    return RunWindow(start, start.add(hours=1))


def resolve_window(
    params: dict,
    run_type: str | None,
    interval_start: datetime | None,
    interval_end: datetime | None,
    logical_date: datetime | None,
    max_days: float = DEFAULT_MAX_WINDOW_DAYS,
) -> RunWindow:
    """The window of one run; see the module docstring for the rules."""
    start, end = params.get("window_start"), params.get("window_end")
    if start or end:
        if not (start and end):
            raise WindowError("Give both window_start and window_end, or neither.")
        return validate_window(start, end, max_days)
    has_interval = interval_start is not None and interval_end is not None and interval_end > interval_start
    if run_type != "manual" and has_interval and interval_start is not None and interval_end is not None:
        return RunWindow(pendulum.instance(interval_start).in_tz("UTC"), pendulum.instance(interval_end).in_tz("UTC"))
    anchor = logical_date or interval_start
    if anchor is None:
        raise WindowError("This run has no logical date; trigger it with window_start and window_end.")
    return hour_containing(anchor)


def run_window(context: Any, *, check_settings: bool = False) -> RunWindow:
    """The window of the running task's DAG run.

    The max-days Airflow Variable is read only when the run gives its own window (params), or with
    `check_settings` (the DAG's first task), so that a bad value fails the run at once; the other tasks
    of an hourly run do not fetch it (one Execution API call each).
    A bad window or a bad max-days Variable fails the task without retries: retrying cannot fix it.
    """
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowFailException

    dag_run = context["dag_run"]
    run_type = getattr(dag_run.run_type, "value", dag_run.run_type)
    params = dict(context.get("params") or {})
    try:
        max_days: float = DEFAULT_MAX_WINDOW_DAYS
        if check_settings or params.get("window_start") or params.get("window_end"):
            max_days = parse_max_window_days(Variable.get(MAX_WINDOW_DAYS_VARIABLE, default=DEFAULT_MAX_WINDOW_DAYS))
        return resolve_window(
            params=params,
            run_type=str(run_type) if run_type is not None else None,
            interval_start=context.get("data_interval_start"),
            interval_end=context.get("data_interval_end"),
            logical_date=context.get("logical_date") or getattr(dag_run, "run_after", None),
            max_days=max_days,
        )
    except WindowError as error:
        raise AirflowFailException(failure_note(error)) from None
