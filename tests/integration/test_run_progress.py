"""`make run` says what happens while it happens, and a deterministic failure ends the run within seconds.

The runner (local_stack.airflow_runner.run_once) is driven as `make run` drives it, with the DAG's
real retry settings, its progress lines captured instead of printed.
"""

from __future__ import annotations

import io
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from local_stack.airflow_runner import load_dag, run_once
from local_stack.run_progress import RunProgress, quiet_repeats

pytestmark = pytest.mark.integration

EMPTY_HOUR = datetime(2018, 11, 2, 5, tzinfo=timezone.utc)  # no day file in the sample bucket
LINE = re.compile(r"^  \d\d:\d\d:\d\d  ")


def progress_lines(stream: io.StringIO) -> list[str]:
    lines = stream.getvalue().splitlines()
    assert all(LINE.match(line) for line in lines), lines
    return [LINE.sub("", line) for line in lines]


def test_a_bad_window_fails_the_run_within_seconds_and_says_why(airflow_db, sample_data, tmp_path, capfd, caplog):
    dag, stream, log_file = load_dag(), io.StringIO(), tmp_path / "dag-runs.log"
    assert dag.get_task("begin").retries == 3, "the DAG's own retries, which begin's retry policy skips"
    conf = {"window_start": "2018-11-16T00:00:00Z", "window_end": "2018-11-15T00:00:00Z"}
    began = time.monotonic()
    assert run_once(dag, EMPTY_HOUR, conf, log_file, RunProgress(stream)) == "failed"
    assert time.monotonic() - began < 60
    reason = "Invalid window: window_end 2018-11-15 00:00 must be after window_start 2018-11-16 00:00 (UTC)."
    lines = progress_lines(stream)
    assert lines[0] == "begin started (try 1 of 4)"
    assert re.fullmatch(r"begin failed \(try 1 of 4\) after \d+s; no retry:", lines[1]), lines
    assert lines[2] == f"    WindowRefused: {reason}", lines
    assert len(lines) == 3, "nothing else ran"
    # The run's output (Airflow's task lines go to the log file; under pytest, the DAG's own logging to the
    # captured stdout, or to pytest's log capture once another test has configured logging): begin's one
    # line, then Airflow's "Task exited", and no traceback.
    output = log_file.read_text() + capfd.readouterr().out
    begin_lines = [r.getMessage() for r in caplog.records if r.name == "sparkify.begin" and r.levelname == "ERROR"]
    assert f"[error    ] {reason} [sparkify.begin]" in output or begin_lines == [reason], output[-3000:]
    assert "[error    ] Task exited" in output and "exit_code=1" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def test_a_transient_failure_announces_its_retry_and_the_log_has_no_repeated_lines(airflow_db, sample_data, tmp_path):
    dag, stream, log_file = load_dag(), io.StringIO(), tmp_path / "dag-runs.log"
    stage = dag.get_task("stage_events")
    dag.get_task("wait_for_log_data").s3_key = "log_json_path.json"  # let the missing day file reach the stage
    stage.retries, stage.retry_delay = 1, timedelta(seconds=3)  # 3 to 6 s, not minutes
    assert run_once(dag, EMPTY_HOUR, None, log_file, RunProgress(stream)) == "failed"
    lines = progress_lines(stream)
    events = [line for line in lines if line.startswith("stage_events")]
    assert events[0] == "stage_events started (try 1 of 2)"
    assert re.fullmatch(
        r"stage_events failed \(try 1 of 2\) after \d+s; retry due at \d\d:\d\d:\d\d UTC "
        r"\(in [3-6]s\):",
        events[1],
    ), events
    assert events[2:4] == ["stage_events started (try 2 of 2)", events[3]]
    assert re.fullmatch(r"stage_events failed \(try 2 of 2\) after \d+s:", events[3]), events
    error = lines[lines.index(events[1]) + 1]
    assert error == (
        "    NoSourceObjects: No object or prefix s3://udacity-dend/log_data/2018/11/2018-11-02-events.json: "
        "nothing to load."
    ), lines
    assert "stage_songs done" in " ".join(lines) and "create_tables done" in " ".join(lines)

    repeats = quiet_repeats()
    assert repeats.seen > repeats.dropped > 0, "the filter sits on dag.test()'s logger and drops repeats"
