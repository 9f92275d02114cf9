"""`make backfill`: a parallel backfill of sparkify_etl on the live scheduler, with progress.

`run_backfill` unpauses the DAG, creates the backfill with `airflow backfill create`
(one run per hour of [start, end), at most `max_active_runs` at once), then polls the
REST API and reports a line each time the counts change, and each failed run at once
with its failed tasks and their errors. It returns when every hour's run has finished.

Reprocess behaviour (`airflow backfill create --reprocess-behavior`), for hours that
already have a finished run: `completed` (the default) runs them again, which is safe
because a run replaces its hour exactly; `failed` runs again only failed hours; `none`
leaves every existing run alone. Re-run hours get an empty conf, so an old manual run's
window params cannot widen them. An hour whose run is still going is never touched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx

from local_stack.airflow_services import AirflowApi, AirflowServices
from local_stack.backfill_progress import TaskEvents
from local_stack.processes import StackError
from local_stack.run_progress import verbose_requested
from sparkify.window import WindowError, parse_instant

DAG_ID = "sparkify_etl"
REPROCESS_BEHAVIOURS = ("completed", "failed", "none")
HOUR = timedelta(hours=1)
PAGE = 100  # the REST API's default maximum page size
HEARTBEAT_SECONDS = 60  # report at least this often, even when nothing changed
CLOSE_TIMEOUT = 45  # the scheduler marks finished backfills complete every 30 seconds
UNANSWERED_POLLS = 10  # polls in a row the api-server may leave unanswered (each waits 30 s) before giving up

Report = Callable[[str], None]


class BackfillError(StackError):
    """A backfill that cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class HourRange:
    """The hours [start, end) in UTC, both on the hour."""

    start: datetime
    end: datetime

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / HOUR)

    @property
    def last_logical_date(self) -> datetime:
        """The logical date of the last hour: `airflow backfill create --to-date` is inclusive."""
        return self.end - HOUR

    def __str__(self) -> str:
        return f"[{_iso(self.start)}, {_iso(self.end)})"


def parse_hour_range(start: str, end: str, now: datetime | None = None) -> HourRange:
    """Validate START and END: ISO 8601, on the hour, START before END, END not in the future.

    A value without an offset is UTC, as for the DAG's window params.
    """
    first, last = _parse_hour(start, "START"), _parse_hour(end, "END")
    if last <= first:
        raise BackfillError(f"END ({_iso(last)}) must be after START ({_iso(first)}).")
    now = now or datetime.now(timezone.utc)
    if last > now:
        raise BackfillError(f"END ({_iso(last)}) is in the future: an hour can be loaded once it has ended.")
    return HourRange(first, last)


def _parse_hour(value: str, name: str) -> datetime:
    try:  # the DAG's own reading of window params: ISO 8601, UTC when no offset is given
        parsed: datetime = parse_instant(value, name)
    except WindowError:
        raise BackfillError(
            f"{name}={value!r} is not an ISO 8601 date-time (for example 2018-11-15T00:00:00Z)."
        ) from None
    parsed = datetime(*parsed.timetuple()[:6], parsed.microsecond, tzinfo=timezone.utc)  # plain, not pendulum
    if (parsed.minute, parsed.second, parsed.microsecond) != (0, 0, 0):
        raise BackfillError(
            f"{name}={value!r} is not on the hour (UTC): the DAG runs hourly, so a backfill "
            f"covers whole hours, for example {_iso(parsed.replace(minute=0, second=0, microsecond=0))}."
        )
    return parsed


def check_options(max_active_runs: int | str, reprocess: str) -> int:
    """Validate RUNS (a whole number from 1) and REPROCESS; returns RUNS as a number."""
    try:
        runs = int(str(max_active_runs).strip())
    except ValueError:
        runs = 0
    if runs < 1:
        raise BackfillError(f"RUNS={max_active_runs!r}: give a whole number from 1 (at most this many runs at a time).")
    if reprocess not in REPROCESS_BEHAVIOURS:
        raise BackfillError(f"REPROCESS={reprocess!r}: choose one of {', '.join(REPROCESS_BEHAVIOURS)}.")
    return runs


@dataclass(frozen=True)
class Counts:
    """The state of every hour of the backfill's range."""

    total: int
    done: int = 0
    running: int = 0
    queued: int = 0
    failed: int = 0
    retrying: int = 0  # task instances waiting for a retry

    def line(self, elapsed: float) -> str:
        parts = [f"{self.done}/{self.total} hours done", f"{self.running} running"]
        if self.queued:
            parts.append(f"{self.queued} queued")
        parts.append(f"{self.failed} failed")
        if self.retrying:
            parts.append(f"{self.retrying} task{'s' if self.retrying > 1 else ''} waiting to retry")
        return f"{', '.join(parts)} ({_duration(elapsed)})"


@dataclass(frozen=True)
class FailedRun:
    logical_date: datetime
    run_id: str | None  # None: the hour has no run (a cancelled backfill)
    tasks: tuple[tuple[str, str], ...] = ()  # (task id, error)

    def describe(self) -> str:
        if self.run_id is None:
            return f"hour {_iso(self.logical_date)}: no run"
        lines = [f"hour {_iso(self.logical_date)}: run {self.run_id} failed"]
        lines += [f"    task {task}: " + error.replace("\n", "\n      ") for task, error in self.tasks]
        return "\n".join(lines)


@dataclass
class BackfillResult:
    backfill_id: int
    hours: HourRange
    max_active_runs: int
    counts: Counts
    elapsed: float
    failures: list[FailedRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.counts.done == self.hours.hours

    def summary(self) -> str:
        if self.ok:
            return (
                f"Backfill {self.backfill_id} of {DAG_ID} over {self.hours}: all {self.hours.hours} hours "
                f"loaded in {_duration(self.elapsed)}."
            )
        return (
            f"Backfill {self.backfill_id} of {DAG_ID} over {self.hours}: {len(self.failures)} of "
            f"{self.hours.hours} hours failed:\n  "
            + "\n  ".join(f.describe() for f in self.failures)
            + "\nFix the cause, then run the failed hours again, for example with REPROCESS=failed."
        )


def run_backfill(
    services: AirflowServices,
    start: str | datetime,
    end: str | datetime,
    max_active_runs: int = 4,
    report: Report = print,
    reprocess: str = "completed",
    timeout: float | None = None,
    poll_seconds: float = 1.0,
) -> BackfillResult:
    """Create a backfill of [start, end) on `services`' scheduler and follow it to the end.

    Raises BackfillError for bad arguments or a backfill Airflow refuses, StackError when
    Airflow is not running or stops, or `timeout` (seconds) passes.
    """
    hours = (
        HourRange(_utc(start), _utc(end))
        if isinstance(start, datetime) and isinstance(end, datetime)
        else parse_hour_range(str(start), str(end))
    )
    max_active_runs = check_options(max_active_runs, reprocess)
    if not services.is_running():
        raise StackError("Airflow is not running; `make up` starts it.")
    api = services.api()
    started = time.monotonic()
    backfill_id = _create(services, api, hours, max_active_runs, reprocess, report)
    report(
        f"Backfill {backfill_id} of {DAG_ID} over {hours}: {hours.hours} hourly runs, at most "
        f"{max_active_runs} at a time, reprocess {reprocess}"
    )

    try:
        return _follow(services, api, backfill_id, hours, max_active_runs, report, started, timeout, poll_seconds)
    except KeyboardInterrupt:
        report(
            f"Stopped following backfill {backfill_id}; it goes on in Airflow. Cancel it in the UI (Dags → "
            f"{DAG_ID} → the backfill banner) or with PUT /api/v2/backfills/{backfill_id}/cancel."
        )
        raise


def _follow(
    services: AirflowServices,
    api: AirflowApi,
    backfill_id: int,
    hours: HourRange,
    max_active_runs: int,
    report: Report,
    started: float,
    timeout: float | None,
    poll_seconds: float,
) -> BackfillResult:
    """Poll until every hour's run has finished, reporting changes and failed runs."""
    deadline = None if timeout is None else started + timeout
    reported_failures: dict[datetime, FailedRun] = {}
    last_counts, last_line_at = None, 0.0
    events = TaskEvents(api.task_error, verbose=verbose_requested())  # VERBOSE=1: every task's start and end
    watched: set[datetime] = set()  # hours whose run was running at the last poll: their tasks may have changed
    unanswered = 0  # polls in a row that the api-server did not answer
    while True:
        try:
            backfill = api.get(f"/api/v2/backfills/{backfill_id}")
            poll = _poll_runs(api, hours)
            running = {h for h, run in poll.runs.items() if run["state"] == "running"}
            task_lines = events.update(_task_instances(api, watched | running))
            counts = _count(api, hours, poll)
        except (httpx.TimeoutException, httpx.TransportError) as error:  # a loaded api-server; Airflow goes on
            unanswered += 1
            if unanswered == 1:
                report(f"the api-server did not answer ({type(error).__name__}); still following the backfill")
            if unanswered >= UNANSWERED_POLLS:
                raise StackError(
                    f"The api-server did not answer {unanswered} polls in a row; backfill {backfill_id} goes on in "
                    "Airflow: follow it in the UI."
                ) from None
            time.sleep(poll_seconds)
            continue
        if unanswered:
            report(f"the api-server answers again after {unanswered} missed poll(s)")
            unanswered = 0
        watched = running
        for line in task_lines:
            report(line)
        for logical_date, run in poll.runs.items():
            if run["state"] == "failed" and logical_date not in reported_failures:
                reported_failures[logical_date] = _failed_run(api, logical_date, run)
                report(f"failed: {reported_failures[logical_date].describe()}")
        now = time.monotonic()
        if counts != last_counts or now - last_line_at >= HEARTBEAT_SECONDS:
            line = counts.line(now - started)
            report(line + ("  [backfill paused in Airflow]" if backfill.get("is_paused") else ""))
            last_counts, last_line_at = counts, now
        if poll.unfinished == 0 and (poll.existing == hours.hours or backfill.get("completed_at")):
            break  # every run was created with the backfill, so the hours' runs are all of it
        if deadline is not None and now > deadline:
            raise StackError(
                f"Backfill {backfill_id} is not finished after {timeout:.0f}s ({counts.line(now - started)})."
            )
        stopped = [name for name, pid in services.running().items() if pid is None]
        if stopped:
            raise StackError(
                f"Airflow's {', '.join(stopped)} stopped during backfill {backfill_id}; it goes on "
                "where it was once `make up` starts Airflow again."
            )
        time.sleep(poll_seconds)

    failures: list[FailedRun] = []
    if poll.existing < hours.hours or poll.failed:  # some hour has no run, or a failed one: name them all
        runs = _runs_by_hour(api, hours)
        failures = [
            FailedRun(h, None) if h not in runs else reported_failures.get(h) or _failed_run(api, h, runs[h])
            for h in _each_hour(hours)
            if h not in runs or runs[h]["state"] == "failed"
        ]
    return BackfillResult(backfill_id, hours, max_active_runs, counts, time.monotonic() - started, failures)


def _create(
    services: AirflowServices, api: AirflowApi, hours: HourRange, max_active_runs: int, reprocess: str, report: Report
) -> int:
    """Unpause the DAG, then `airflow backfill create`; returns the new backfill's id."""
    _wait_for_previous_backfill(api, report)
    before = max((b["id"] for b in _backfills(api)), default=0)
    api.set_paused(DAG_ID, False)
    result = services.airflow(
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        hours.start.isoformat(),
        "--to-date",
        hours.last_logical_date.isoformat(),
        "--max-active-runs",
        str(max_active_runs),
        "--reprocess-behavior",
        reprocess,
        "--dag-run-conf",
        json.dumps({}),
        check=False,
    )
    if result.returncode != 0:
        output = f"{result.stdout}\n{result.stderr}".strip()
        raise BackfillError(f"`airflow backfill create` refused the backfill over {hours}:\n{output[-2000:]}")
    created = [b for b in _backfills(api) if b["id"] > before]
    if not created:
        raise BackfillError(f"`airflow backfill create` exited 0 but Airflow lists no new backfill:\n{result.stdout}")
    return max(b["id"] for b in created)


def _wait_for_previous_backfill(api: AirflowApi, report: Report) -> None:
    """Airflow allows one open backfill per DAG, and its scheduler closes a finished one only every
    30 seconds: wait for that, but refuse at once while a backfill still has runs to do."""
    deadline = time.monotonic() + CLOSE_TIMEOUT
    reported = False
    while active := [b for b in _backfills(api) if not b.get("completed_at")]:
        b = active[0]
        going = api.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            params={
                "run_type": "backfill",
                "state": ["queued", "running"],
                "limit": 1,
                "logical_date_gte": b["from_date"],
                "logical_date_lte": b["to_date"],
            },
        )["total_entries"]
        if going or time.monotonic() > deadline:
            raise BackfillError(
                f"Backfill {b['id']} of {DAG_ID} ({b['from_date']} to {b['to_date']}) is still going, and Airflow "
                f"allows one at a time. Wait for it, or cancel it in the UI (Dags → {DAG_ID} → the backfill "
                f"banner) or with PUT /api/v2/backfills/{b['id']}/cancel."
            )
        if not reported:
            report(f"Waiting for Airflow to close backfill {b['id']}, whose runs have finished ...")
            reported = True
        time.sleep(1)


def _backfills(api: AirflowApi) -> list[dict]:
    return api.get("/api/v2/backfills", params={"dag_id": DAG_ID, "limit": PAGE, "order_by": "-id"}).get(
        "backfills", []
    )


def _runs_by_hour(api: AirflowApi, hours: HourRange, states: tuple[str, ...] = ()) -> dict[datetime, dict]:
    """The run of each hour in the range that has one (any run type; only in `states` if given), by logical date."""
    runs: dict[datetime, dict] = {}
    offset = 0
    while True:
        page = api.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            params={
                "logical_date_gte": _iso(hours.start),
                "logical_date_lte": _iso(hours.last_logical_date),
                "order_by": "logical_date",
                "limit": PAGE,
                "offset": offset,
                **({"state": list(states)} if states else {}),
            },
        )
        for run in page.get("dag_runs", []):
            runs[_utc(run["logical_date"])] = run
        offset += PAGE
        if offset >= (page.get("total_entries") or 0):
            return runs


@dataclass(frozen=True)
class RunPoll:
    """One poll of the range's runs: the running and failed ones in full, the rest as totals.

    A poll costs a few small requests whatever the backfill's length; listing every run and every
    task instance of a month (720 runs, 9,360 task instances, 100 a page) once a second took a good
    part of a 2-core machine away from the backfill itself.
    """

    runs: dict[datetime, dict]  # the running and the failed runs, by logical date
    existing: int  # runs in the range, in any state
    succeeded: int
    queued: int

    @property
    def failed(self) -> int:
        return sum(run["state"] == "failed" for run in self.runs.values())

    @property
    def unfinished(self) -> int:
        return self.existing - self.succeeded - self.failed


def _poll_runs(api: AirflowApi, hours: HourRange) -> RunPoll:
    # The totals first, then the running and failed runs: a run that finishes between the requests is
    # then missing from a poll (the next one counts it), never counted both as succeeded and running.
    existing, succeeded, queued = (_run_total(api, hours, state) for state in (None, "success", "queued"))
    runs = _runs_by_hour(api, hours, states=("running", "failed"))
    return RunPoll(runs=runs, existing=existing, succeeded=succeeded, queued=queued)


def _run_total(api: AirflowApi, hours: HourRange, state: str | None = None) -> int:
    params = {"logical_date_gte": _iso(hours.start), "logical_date_lte": _iso(hours.last_logical_date), "limit": 1}
    answer = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={**params, **({"state": [state]} if state else {})})
    return int(answer.get("total_entries") or 0)


def _task_instances(api: AirflowApi, watched: set[datetime]) -> list[dict]:
    """Every task instance of the runs of the `watched` hours' span (all pages); none when the API does not answer."""
    if not watched:
        return []
    params = {"logical_date_gte": _iso(min(watched)), "logical_date_lte": _iso(max(watched)), "limit": PAGE}
    instances: list[dict] = []
    try:
        while True:
            answer = api.get(
                f"/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances", params={**params, "offset": len(instances)}
            )
            batch = answer.get("task_instances", [])
            instances += batch
            if not batch or len(instances) >= answer.get("total_entries", 0):
                return instances
    except httpx.HTTPError:
        return instances


def _count(api: AirflowApi, hours: HourRange, poll: RunPoll) -> Counts:
    running = sum(run["state"] == "running" for run in poll.runs.values())
    retrying = 0
    if running:
        retrying = api.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances",
            params={
                "state": "up_for_retry",
                "logical_date_gte": _iso(hours.start),
                "logical_date_lte": _iso(hours.last_logical_date),
                "limit": 1,
            },
        ).get("total_entries", 0)
    return Counts(
        total=hours.hours,
        done=poll.succeeded,
        running=running,
        queued=hours.hours - poll.existing + poll.queued,
        failed=poll.failed,
        retrying=retrying,
    )


def _failed_run(api: AirflowApi, logical_date: datetime, run: dict) -> FailedRun:
    """A failed run with its failed tasks and their errors (from the task logs)."""
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run['dag_run_id'], safe='')}/taskInstances"
    try:
        instances = api.get(path).get("task_instances", [])
    except httpx.HTTPError as error:  # a report must not end the wait
        return FailedRun(logical_date, run["dag_run_id"], (("?", f"(task instances unavailable: {error})"),))
    failed = [ti for ti in instances if ti["state"] == "failed"]
    return FailedRun(logical_date, run["dag_run_id"], tuple((ti["task_id"], api.task_error(ti)) for ti in failed))


def _each_hour(hours: HourRange) -> list[datetime]:
    return [hours.start + n * HOUR for n in range(hours.hours)]


def _utc(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment.microsecond == 0 else moment.isoformat()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
