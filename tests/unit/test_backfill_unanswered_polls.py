"""`make backfill` keeps following a backfill when a loaded api-server leaves a few polls unanswered.

Airflow's api-server under load (a 2-core machine running four runs at once) can take longer than
the client's 30 s to answer; the backfill goes on in Airflow, so the follower must not die of it.
The API here is a stand-in that times out on cue: an overloaded api-server cannot be produced on
demand.
"""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from local_stack import backfill
from local_stack.processes import StackError

HOURS = backfill.HourRange(
    datetime(2018, 11, 15, 7, tzinfo=timezone.utc), datetime(2018, 11, 15, 9, tzinfo=timezone.utc)
)


class SlowApi:
    """Answers like Airflow's REST API for a finished two-hour backfill, after `timeouts` timed-out reads."""

    def __init__(self, timeouts: int) -> None:
        self.timeouts = timeouts

    def get(self, path: str, **kwargs) -> dict:
        if self.timeouts:
            self.timeouts -= 1
            raise httpx.ReadTimeout("timed out")
        if path.startswith("/api/v2/backfills/"):
            return {"completed_at": "2018-11-15T10:00:00Z", "is_paused": False}
        if path.endswith("/dagRuns"):
            runs = [
                {"dag_run_id": f"backfill__{h}", "logical_date": f"2018-11-15T0{h}:00:00Z", "state": "success"}
                for h in (7, 8)
            ]
            states = kwargs.get("params", {}).get("state")
            runs = [run for run in runs if not states or run["state"] in states]
            return {"dag_runs": runs, "total_entries": len(runs)}
        return {"task_instances": [], "total_entries": 0}

    def task_error(self, ti: dict) -> str:
        return ""


class Services:
    def running(self) -> dict[str, int | None]:
        return {"scheduler": 1}


def follow(api: SlowApi) -> tuple[backfill.BackfillResult, list[str]]:
    lines: list[str] = []
    result = backfill._follow(Services(), api, 1, HOURS, 4, lines.append, 0.0, None, poll_seconds=0)
    return result, lines


def test_unanswered_polls_are_reported_once_and_the_backfill_is_followed_to_its_end():
    result, lines = follow(SlowApi(timeouts=3))
    assert result.ok and result.counts.done == 2
    assert [line for line in lines if "api-server" in line] == [
        "the api-server did not answer (ReadTimeout); still following the backfill",
        "the api-server answers again after 3 missed poll(s)",
    ]


def test_an_api_server_that_never_answers_ends_the_follow_with_a_clear_error():
    with pytest.raises(StackError, match="did not answer 10 polls in a row; backfill 1 goes on in Airflow"):
        follow(SlowApi(timeouts=1000))
