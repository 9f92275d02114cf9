from __future__ import annotations

from datetime import date, datetime

import pendulum
import pytest

from sparkify.window import RunWindow, WindowError, hour_containing, resolve_window, validate_window

UTC = pendulum.timezone("UTC")


def at(*args) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz="UTC")


def test_scheduled_run_uses_its_data_interval():
    window = resolve_window({}, "scheduled", at(2018, 11, 15, 3), at(2018, 11, 15, 4), at(2018, 11, 15, 3))
    assert (window.start, window.end) == (at(2018, 11, 15, 3), at(2018, 11, 15, 4))


def test_backfill_run_uses_its_data_interval():
    window = resolve_window({}, "backfill", at(2018, 11, 15, 3), at(2018, 11, 15, 4), at(2018, 11, 15, 3))
    assert window.start == at(2018, 11, 15, 3)


def test_manual_run_processes_the_hour_containing_its_logical_date():
    window = resolve_window({}, "manual", at(2018, 11, 15, 2), at(2018, 11, 15, 3), at(2018, 11, 15, 3, 25))
    assert (window.start, window.end) == (at(2018, 11, 15, 3), at(2018, 11, 15, 4))


def test_zero_length_interval_falls_back_to_the_hour():
    window = resolve_window({}, "scheduled", at(2018, 11, 15, 3), at(2018, 11, 15, 3), at(2018, 11, 15, 3))
    assert window.end - window.start == pendulum.duration(hours=1)


def test_params_window_wins_and_naive_values_are_utc():
    params = {"window_start": "2018-11-15", "window_end": "2018-11-16T00:00:00"}
    window = resolve_window(params, "manual", None, None, at(2018, 11, 1))
    assert (window.start, window.end) == (at(2018, 11, 15), at(2018, 11, 16))


def test_offsets_are_converted_to_utc():
    window = validate_window("2018-11-15T03:00:00+02:00", "2018-11-15T05:00:00Z")
    assert window.start == at(2018, 11, 15, 1)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2018-11-16", "2018-11-15", "must be after"),
        ("2018-11-15", "2018-11-15", "must be after"),
        ("yesterday", "2018-11-15", "window_start='yesterday' is not an ISO 8601"),
        ("2018-11-15", "2018-13-01", "window_end='2018-13-01' is not an ISO 8601"),
        ("2018-10-01", "2018-11-02", "longer than the maximum of 31 days"),
    ],
)
def test_bad_windows_are_refused_with_a_clear_message(start, end, message):
    with pytest.raises(WindowError, match=message):
        validate_window(start, end)


def test_a_31_day_window_is_allowed_and_the_limit_is_configurable():
    assert validate_window("2018-11-01", "2018-12-02").days()[-1] == date(2018, 12, 1)
    with pytest.raises(WindowError, match="maximum of 2 days"):
        validate_window("2018-11-01", "2018-11-04", max_days=2)


def test_only_one_window_param_is_refused():
    with pytest.raises(WindowError, match="both window_start and window_end"):
        resolve_window({"window_start": "2018-11-15"}, "manual", None, None, at(2018, 11, 15))


def test_days_touched_by_a_window():
    assert RunWindow(at(2018, 11, 14, 18), at(2018, 11, 15, 6)).days() == [date(2018, 11, 14), date(2018, 11, 15)]
    assert RunWindow(at(2018, 11, 15, 23), at(2018, 11, 16)).days() == [date(2018, 11, 15)]
    assert hour_containing(at(2018, 11, 30, 23, 59)).days() == [date(2018, 11, 30)]


def test_sql_parameters_are_naive_utc_datetimes():
    params = validate_window("2018-11-15T03:00:00+01:00", "2018-11-15T04:00:00+01:00").sql_parameters()
    assert params == {"window_start": datetime(2018, 11, 15, 2), "window_end": datetime(2018, 11, 15, 3)}
    assert type(params["window_start"]) is datetime
