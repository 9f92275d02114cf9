"""stage_events says how much of its day file the run's window uses: "N rows of the day file ..., M in the
window ...", from a whole sparkify_etl run (dag.test) on the local stack, through the emulator.

N and M are computed here from the sample's JSON with the json module (tests/expected.py), never with
project code: N is every event of the day file (the COPY loads them all: MAXERROR 0, no rejects), M the
events whose ts (epoch milliseconds) lies in the window [start, end). The count runs on the TIMESTAMP
column that COPY's TIMEFORMAT 'epochmillisecs' fills
(https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html#copy-timeformat).
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone

import pytest

from sparkify.operators.stage_to_redshift import StageToRedshiftOperator
from tests.expected import event_time, read_events
from tests.support import SAMPLE_DAY, busy_hours, reset_schema, run_dag

pytestmark = pytest.mark.integration

DAY_FILE = f"s3://udacity-dend/log_data/{SAMPLE_DAY:%Y/%m/%Y-%m-%d}-events.json"


def test_stage_events_logs_the_rows_of_the_day_file_and_those_in_the_window(sparkify_dag, sample_data, db, capfd):
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
        f"{len(day_events)} rows of the day file {DAY_FILE}, {len(in_window)} in the window "
        f"{hour:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"
    )
    assert expected in out, [line for line in out.splitlines() if "rows of the" in line]


def test_the_time_column_is_validated_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="Invalid time column 'ts; DROP TABLE songs'"):
        StageToRedshiftOperator(
            task_id="s", table="t", s3_bucket="b", s3_key="k", time_column="ts; DROP TABLE songs", window_count_sql="x"
        )
    with pytest.raises(ValueError, match="go together"):
        StageToRedshiftOperator(task_id="s", table="t", s3_bucket="b", s3_key="k", time_column="ts")


def test_the_count_query_quotes_the_table_and_the_time_column():
    from pathlib import Path

    sql = (Path(__file__).resolve().parents[2] / "include/sql/staged_rows_in_window.sql").read_text()
    op = StageToRedshiftOperator(
        task_id="s", table="staging_events", s3_bucket="b", s3_key="k", time_column="ts", window_count_sql=sql
    )
    query = re.sub(
        r"\s+", " ", "\n".join(line for line in op.build_window_count_query().splitlines() if not line.startswith("--"))
    )
    assert query.strip() == (
        'SELECT COUNT(*) FROM "staging_events" WHERE "ts" >= %(window_start)s AND "ts" < %(window_end)s'
    )
