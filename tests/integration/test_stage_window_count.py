"""load_songplays_fact says how much of what stage_events staged the run's window uses: "N source rows
staged, M in the window ...", from a whole sparkify_etl run (dag.test) on the local stack, through the
emulator (include/sql/staged_rows_in_window.sql; its text is pinned in tests/unit/test_operators.py).

N and M are computed here from the sample's JSON with the json module (tests/expected.py), never with
project code: N is every event of the day file (the COPY loads them all: MAXERROR 0, no rejects), M the
events whose ts (epoch milliseconds) lies in the window [start, end). The count runs on the TIMESTAMP
column that COPY's TIMEFORMAT 'epochmillisecs' fills
(https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html#copy-timeformat).
"""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from tests.expected import event_time, read_events
from tests.support import busy_hours, reset_schema, run_dag

pytestmark = pytest.mark.integration


def test_the_fact_load_logs_the_staged_rows_and_those_in_the_window(sparkify_dag, sample_data, db, capfd):
    reset_schema(db)
    [hour] = busy_hours(sample_data, 1)
    end = hour + timedelta(hours=1)
    day_events = [e for e in read_events(sample_data) if event_time(e).date() == hour.date()]
    in_window = [e for e in day_events if hour <= event_time(e) < end]
    assert 0 < len(in_window) < len(day_events), "the hour should hold some, not all, of the day's events"
    capfd.readouterr()  # only this run's output

    conf = {"window_start": f"{hour:%Y-%m-%dT%H:%M}Z", "window_end": f"{end:%Y-%m-%dT%H:%M}Z"}
    assert run_dag(sparkify_dag, hour.replace(tzinfo=timezone.utc), conf) == "success"

    out = capfd.readouterr().out
    expected = (
        f"{len(day_events)} source rows staged, {len(in_window)} in the window {hour:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"
    )
    assert expected in out, [line for line in out.splitlines() if "source rows staged" in line]
