"""`make backfill`'s task lines: each failure and when its retry is due; with `VERBOSE=1`, each task's start
and end too (the counts line says how far the backfill is either way).

Built from the REST API's task instances, polled by `backfill._follow`. One line per change of a
task try's state, e.g. `  hour 2018-11-15T07:00Z stage_events failed (try 1 of 4); retry due between
07:01:12 and 07:02:12 UTC: NoSourceObjects: ...`. The due time is a range because Airflow adds up
to 100% jitter to the DAG's backoff (plugins/sparkify/retry_policy.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sparkify.retry_policy import TRANSIENT_RETRIES

ErrorOf = Callable[[dict], str]
TASK_LINE = "  hour "  # how every task line starts, indented under the counts lines
ERROR_LINES = 3
ENDED = ("success", "failed", "up_for_retry")  # the states of a try that ran


class TaskEvents:
    """Remembers each task try's last state and turns changes into lines."""

    # Polls to wait for a retrying try's end_date before saying "waiting to retry" without a due time.
    END_DATE_POLLS = 10

    def __init__(self, error_of: ErrorOf, verbose: bool = True) -> None:
        self.error_of, self.verbose = error_of, verbose
        self.seen: dict[tuple[str, str, int], str | None] = {}
        self.waiting_for_end: dict[tuple[str, str, int], int] = {}

    def update(self, instances: list[dict]) -> list[str]:
        lines = []
        for ti in sorted(instances, key=lambda t: (t.get("logical_date") or "", t.get("start_date") or "")):
            key = (ti["dag_run_id"], ti["task_id"], int(ti.get("try_number") or 0))
            state = ti.get("state")
            if self.seen.get(key) == state:
                continue
            if state == "up_for_retry" and retry_window(ti) is None:
                # The API may show the state a poll before the try's end_date: wait a few polls for it.
                polls = self.waiting_for_end[key] = self.waiting_for_end.get(key, 0) + 1
                if polls < self.END_DATE_POLLS:
                    continue
            if self.verbose and state in ENDED and self.seen.get(key) != "running" and ti.get("start_date"):
                lines.append(self._started(ti))  # it started and ended between two polls
            self.seen[key] = state
            line = self._line(ti, state)
            if line:
                lines.append(line)
        return lines

    @staticmethod
    def _where(ti: dict) -> str:
        return f"{TASK_LINE}{_hour(ti.get('logical_date'))} {ti['task_id']}"

    def _started(self, ti: dict) -> str:
        return f"{self._where(ti)} started{_tries(ti)}"

    def _line(self, ti: dict, state: str | None) -> str | None:
        where = self._where(ti)
        tries = _tries(ti)
        if state in ("running", "success") and not self.verbose:
            return None
        if state == "running":
            return self._started(ti)
        if state == "success":
            return f"{where} done" + (f" ({ti['duration']:.0f}s)" if ti.get("duration") is not None else "")
        if state == "up_for_retry":
            due = retry_window(ti)
            when = f"; retry due between {due[0]:%H:%M:%S} and {due[1]:%H:%M:%S} UTC" if due else "; waiting to retry"
            return f"{where} failed{tries}{when}:\n{self._error(ti)}"
        if state == "failed":
            return f"{where} failed{tries}:\n{self._error(ti)}"
        return None  # queued, scheduled, upstream_failed, skipped: the counts line covers them

    def _error(self, ti: dict) -> str:
        try:
            text = self.error_of(ti)
        except Exception as error:  # a report must not end the wait
            text = f"(error unavailable: {error})"
        lines = [line for line in text.splitlines() if line.strip()] or ["(no error in the log)"]
        shown = lines[:ERROR_LINES] + (
            [f"... ({len(lines) - ERROR_LINES} more lines)"] if len(lines) > ERROR_LINES else []
        )
        return "\n".join(f"      {line}" for line in shown)


def retry_window(ti: dict, retries: dict[str, Any] = TRANSIENT_RETRIES) -> tuple[datetime, datetime] | None:
    """The earliest and latest time Airflow retries a try that ended at `end_date` (the DAG's backoff, jitter)."""
    end = _parse(ti.get("end_date"))
    if end is None:
        return None
    delay: timedelta = retries["retry_delay"]
    multiplier = retries.get("retry_exponential_backoff") or 1.0
    cap: timedelta | None = retries.get("max_retry_delay")
    if multiplier == 1.0:
        return end + delay, end + delay
    base = max(1, math.ceil(delay.total_seconds() * multiplier ** (int(ti.get("try_number") or 1) - 1)))
    low, high = timedelta(seconds=base), timedelta(seconds=2 * base - 1)
    if cap:
        low, high = min(low, cap), min(high, cap)
    return end + low, end + high


def _tries(ti: dict) -> str:
    retries = int(ti.get("max_tries") or 0)  # Airflow's max_tries counts the retries
    return f" (try {ti.get('try_number')} of {retries + 1})" if retries else ""


def _hour(value: str | None) -> str:
    moment = _parse(value)
    return moment.strftime("%Y-%m-%dT%H:%MZ") if moment else "?"


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
