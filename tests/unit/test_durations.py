"""The durations operators give in settings (late data timeout, late run alert, listing reuse)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sparkify.durations import DurationSettingError, describe_duration, parse_duration
from sparkify.late_data import wait_deadline


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", timedelta(minutes=30)),
        (30, timedelta(minutes=30)),
        (0.5, timedelta(seconds=30)),
        ("90s", timedelta(seconds=90)),
        (" 45 M ", timedelta(minutes=45)),
        ("2h", timedelta(hours=2)),
        ("0", timedelta(0)),
        ("168h", timedelta(days=7)),
    ],
)
def test_durations(value, expected):
    assert parse_duration(value, "Airflow Variable sparkify_late_data_timeout", "2h") == expected


@pytest.mark.parametrize("value", ["", "-5", "2 days", "1d", "h", "nan", "inf", True, None, "169h", "1e3"])
def test_bad_durations_name_the_variable(value):
    with pytest.raises(DurationSettingError, match=r"Airflow Variable sparkify_late_data_timeout=.*\(default 2h\)"):
        parse_duration(value, "Airflow Variable sparkify_late_data_timeout", "2h")


def test_the_wait_ends_a_timeout_after_the_window():
    end = datetime(2018, 11, 15, 8, tzinfo=timezone.utc)
    assert wait_deadline(end, timedelta(hours=2)) == datetime(2018, 11, 15, 10, tzinfo=timezone.utc)
    assert [describe_duration(timedelta(seconds=s)) for s in (7200, 90, 2700, 0)] == ["2h", "90s", "45m", "0s"]
