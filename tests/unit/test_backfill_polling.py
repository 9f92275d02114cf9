"""`make backfill`'s follower asks Airflow for a few small pages a poll, however long the backfill.

The API here answers like Airflow's REST API (filters on logical date and state, at most 100 rows
a page, `total_entries`) for a month-long backfill, and records every request. On the first poll
100 hours are done, 4 running and the rest queued; on the second, all are done.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from local_stack import backfill

START = datetime(2018, 11, 1, tzinfo=timezone.utc)
HOURS = backfill.HourRange(START, START + timedelta(days=30))
TASKS = ("begin", "stage_events", "end")
RUNNING = range(100, 104)
MAX_PAGE = 100


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def hour(number: int) -> datetime:
    return START + timedelta(hours=number)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class MonthApi:
    def __init__(self) -> None:
        self.poll = 0
        self.requests: list[tuple[int, str, dict]] = []

    def state(self, hour: int) -> str:
        if self.poll >= 2 or hour < RUNNING.start:
            return "success"
        return "running" if hour in RUNNING else "queued"

    def get(self, path: str, params: dict | None = None, **kwargs) -> dict:
        params = params or {}
        if path.startswith("/api/v2/backfills/"):
            self.poll += 1
            self.requests.append((self.poll, path, params))
            return {"completed_at": None, "is_paused": False}
        self.requests.append((self.poll, path, params))
        first, last = parse(params["logical_date_gte"]), parse(params["logical_date_lte"])
        hours = [h for h in range(HOURS.hours) if first <= hour(h) <= last]
        states = params.get("state")
        states = [states] if isinstance(states, str) else states
        if path.endswith("/dagRuns"):
            rows = [{"dag_run_id": f"r{h}", "logical_date": iso(hour(h)), "state": self.state(h)} for h in hours]
            key = "dag_runs"
        else:
            rows = [
                {
                    "dag_run_id": f"r{h}",
                    "task_id": task,
                    "try_number": 1,
                    "max_tries": 0,
                    "logical_date": iso(hour(h)),
                    "state": {"running": "running", "success": "success"}.get(self.state(h)),  # queued: none yet
                    "duration": 1.0,
                }
                for h in hours
                for task in TASKS
            ]
            key = "task_instances"
        rows = [row for row in rows if not states or row["state"] in states]
        offset, limit = int(params.get("offset", 0)), min(int(params.get("limit", MAX_PAGE)), MAX_PAGE)
        return {key: rows[offset : offset + limit], "total_entries": len(rows)}

    def task_error(self, ti: dict) -> str:
        return ""


class Services:
    def running(self) -> dict[str, int | None]:
        return {"scheduler": 1}


def test_a_month_is_followed_with_a_few_requests_a_poll(monkeypatch):
    monkeypatch.setenv("VERBOSE", "1")  # the task lines too (make backfill VERBOSE=1)
    api, lines = MonthApi(), []
    result = backfill._follow(Services(), api, 7, HOURS, 4, lines.append, time.monotonic(), None, poll_seconds=0)

    assert result.ok and result.counts.done == HOURS.hours == 720
    first_poll = [(path, params) for poll, path, params in api.requests if poll == 1]
    assert len(first_poll) <= 8, first_poll  # listing every run and task instance took 104 requests
    task_queries = [params for path, params in first_poll if path.endswith("/taskInstances") and "offset" in params]
    assert [(q["logical_date_gte"], q["logical_date_lte"]) for q in task_queries] == [
        (iso(hour(RUNNING.start)), iso(hour(RUNNING.stop - 1)))
    ]
    assert any(line.startswith("100/720 hours done, 4 running, 616 queued, 0 failed (") for line in lines)
    started = [line for line in lines if line.endswith("started")]
    assert len(started) == len(RUNNING) * len(TASKS)
    # The second poll still reads the hours that were running, so their tasks' ends are reported.
    done = [line for line in lines if " done (" in line]
    assert len(done) == len(RUNNING) * len(TASKS)


class FinishingMidPollApi(MonthApi):
    """Two hours, running at the first poll, that finish during the second one, right after its first
    request for runs has been answered."""

    def __init__(self) -> None:
        super().__init__()
        self.run_requests_this_poll = 0

    def get(self, path: str, params: dict | None = None, **kwargs) -> dict:
        if path.startswith("/api/v2/backfills/"):
            self.run_requests_this_poll = 0
        answer = super().get(path, params, **kwargs)
        if path.endswith("/dagRuns"):
            self.run_requests_this_poll += 1
        return answer

    def state(self, hour: int) -> str:
        finished = self.poll >= 3 or (self.poll == 2 and self.run_requests_this_poll >= 1)
        return "success" if finished else "running"


def test_runs_that_finish_during_a_poll_are_never_counted_twice():
    two_hours = backfill.HourRange(START, START + timedelta(hours=2))
    api, lines = FinishingMidPollApi(), []
    result = backfill._follow(Services(), api, 7, two_hours, 4, lines.append, time.monotonic(), None, poll_seconds=0)

    assert result.ok and result.counts.done == 2 and result.counts.running == 0
    counts = [line for line in lines if " hours done, " in line]
    assert counts[-1].startswith("2/2 hours done, 0 running, 0 failed ("), counts  # was "2 running"
