"""`make backfill`: START/END/RUNS/REPROCESS validation, the progress and failure texts, and the wiring."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from local_stack import cli
from local_stack.backfill import (
    BackfillError,
    BackfillResult,
    Counts,
    FailedRun,
    HourRange,
    check_options,
    parse_hour_range,
)
from local_stack.settings import PROJECT_ROOT

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(hour: int, day: int = 15) -> datetime:
    return datetime(2018, 11, day, hour, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("start", "end", "first", "hours"),
    [
        ("2018-11-15T00:00:00Z", "2018-11-15T06:00:00Z", at(0), 6),
        ("2018-11-15T00:00:00+00:00", "2018-11-16T00:00:00+00:00", at(0), 24),
        ("2018-11-15T03:00", "2018-11-15T04:00", at(3), 1),  # no offset: UTC, as for the window params
        ("2018-11-15", "2018-11-16", at(0), 24),  # a date is its midnight
        ("2018-11-15T09:00:00+02:00", "2018-11-15T10:00:00Z", at(7), 3),  # offsets are converted
    ],
)
def test_valid_ranges(start, end, first, hours):
    span = parse_hour_range(start, end, now=NOW)
    assert (span.start, span.hours) == (first, hours)
    assert span.last_logical_date == span.end - timedelta(hours=1)
    assert str(span) == f"[{first:%Y-%m-%dT%H:%M:%S}Z, {span.end:%Y-%m-%dT%H:%M:%S}Z)"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("yesterday", "2018-11-15T06:00:00Z", "START='yesterday' is not an ISO 8601 date-time"),
        ("2018-11-15T00:00:00Z", "15/11/2018 06:00", "END='15/11/2018 06:00' is not an ISO 8601 date-time"),
        ("2018-11-15T00:30:00Z", "2018-11-15T06:00:00Z", "START='2018-11-15T00:30:00Z' is not on the hour (UTC)"),
        ("2018-11-15T00:00:00Z", "2018-11-15T06:00:01Z", "is not on the hour"),
        ("2018-11-15T00:00:00+05:30", "2018-11-15T06:00:00Z", "for example 2018-11-14T18:00:00Z"),
        ("2018-11-15T06:00:00Z", "2018-11-15T06:00:00Z", "END (2018-11-15T06:00:00Z) must be after START"),
        ("2018-11-15T06:00:00Z", "2018-11-15T00:00:00Z", "must be after START (2018-11-15T06:00:00Z)"),
        ("2025-12-31T23:00:00Z", "2026-01-01T01:00:00Z", "is in the future"),
    ],
)
def test_invalid_ranges_are_refused_with_the_reason(start, end, message):
    with pytest.raises(BackfillError) as refused:
        parse_hour_range(start, end, now=NOW)
    assert message in str(refused.value)


def test_runs_and_reprocess_options():
    assert check_options("4", "completed") == 4
    assert check_options(1, "failed") == 1 and check_options(" 8 ", "none") == 8
    for runs in ("0", "-1", "two", "2.5", ""):
        with pytest.raises(BackfillError, match="give a whole number from 1"):
            check_options(runs, "completed")
    with pytest.raises(BackfillError, match="REPROCESS='sometimes': choose one of completed, failed, none"):
        check_options(4, "sometimes")


def test_progress_lines():
    assert Counts(total=24, done=12, running=4).line(65) == "12/24 hours done, 4 running, 0 failed (1m05s)"
    assert Counts(total=24, done=3, running=4, queued=16, failed=1, retrying=2).line(3725) == (
        "3/24 hours done, 4 running, 16 queued, 1 failed, 2 tasks waiting to retry (1h02m05s)"
    )
    assert Counts(total=2, running=1, queued=1, retrying=1).line(0).endswith("1 task waiting to retry (0m00s)")


def test_a_failed_backfill_names_its_hours_runs_tasks_and_errors():
    span = HourRange(at(0), at(3))
    failures = [
        FailedRun(at(1), "backfill__2018-11-15T02:00:00+00:00", (("stage_events", "CopyError: no objects\nline 2"),)),
        FailedRun(at(2), None),
    ]
    result = BackfillResult(7, span, 4, Counts(total=3, done=1, failed=1), 12.0, failures)
    assert not result.ok
    assert result.summary() == (
        "Backfill 7 of sparkify_etl over [2018-11-15T00:00:00Z, 2018-11-15T03:00:00Z): 2 of 3 hours failed:\n"
        "  hour 2018-11-15T01:00:00Z: run backfill__2018-11-15T02:00:00+00:00 failed\n"
        "    task stage_events: CopyError: no objects\n"
        "      line 2\n"
        "  hour 2018-11-15T02:00:00Z: no run\n"
        "Fix the cause, then run the failed hours again, for example with REPROCESS=failed."
    )
    done = BackfillResult(8, span, 4, Counts(total=3, done=3), 75.0)
    assert done.ok
    assert done.summary() == (
        "Backfill 8 of sparkify_etl over [2018-11-15T00:00:00Z, 2018-11-15T03:00:00Z): all 3 hours loaded in 1m15s."
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["2018-11-15T00:30:00Z", "2018-11-15T06:00:00Z"], "START='2018-11-15T00:30:00Z' is not on the hour"),
        (["2018-11-15T06:00:00Z", "2018-11-15T00:00:00Z"], "END (2018-11-15T00:00:00Z) must be after START"),
        (["2018-11-15T00:00:00Z", "2018-11-15T06:00:00Z", "--runs", "0"], "RUNS='0'"),
        (["2018-11-15T00:00:00Z", "2018-11-15T06:00:00Z", "--reprocess", "all"], "REPROCESS='all'"),
    ],
)
def test_the_backfill_command_refuses_bad_arguments_before_starting_anything(argv, message, monkeypatch, capsys):
    def must_not_run(*args, **kwargs):
        raise AssertionError("nothing may start before the arguments are valid")

    monkeypatch.setattr(cli, "up", must_not_run)
    monkeypatch.setattr("local_stack.backfill.run_backfill", must_not_run)
    assert cli.main(["backfill", *argv]) == 2
    assert f"error: {message}" in capsys.readouterr().err


def test_make_backfill_passes_its_variables_to_the_command():
    def dry_run(*variables: str) -> str:
        return subprocess.run(
            ["make", "-n", "backfill", *variables], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout

    # The values travel as data in the environment (ARG_*); test_makefile_arguments.py checks what arrives.
    assert '-m local_stack backfill "$ARG_START" "$ARG_END" --runs "$ARG_RUNS" --reprocess "$ARG_REPROCESS"' in dry_run(
        "START=2018-11-15T00:00:00Z", "END=2018-11-15T06:00:00Z"
    )
    assert "make backfill" in subprocess.run(["make", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout
