"""Late data: the sensor checks the window's day files in the session's S3 (moto), defers while they may still
come, and fails with the missing keys and the window once the late-data timeout after the window has passed.

The wait itself, in a live triggerer, is tests/live/test_late_data.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from sparkify.operators import WindowFilesSensor
from tests.support import task_context

pytestmark = pytest.mark.integration

BUCKET = "udacity-dend"
DAY_FILES = "log_data/%Y/%m/%Y-%m-%d-events.json"


@pytest.fixture
def sensor(sample_data, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", "31")
    monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_LATE_DATA_TIMEOUT", raising=False)
    return WindowFilesSensor(
        task_id="wait_for_log_data",
        s3_bucket=BUCKET,
        s3_key=DAY_FILES,
        region_name="us-west-2",
        aws_conn_id="aws_default",
    )


def custom_window(start: str, end: str) -> dict:
    """The context of a manual run given a window."""
    return task_context(start, end, {"window_start": start, "window_end": end}, run_type="manual")


def recent_window(minutes_ago: int = 0) -> tuple[datetime, datetime]:
    end = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return end - timedelta(hours=1), end


def test_files_that_are_there_pass_at_once(sensor):
    # a custom window over two sample days: both day files are checked
    context = custom_window("2018-11-14T20:00:00", "2018-11-15T04:00:00")
    assert sensor.execute(context) is None
    assert sensor.bucket_key == ["log_data/2018/11/2018-11-14-events.json", "log_data/2018/11/2018-11-15-events.json"]


def test_an_old_window_with_a_missing_file_fails_at_once_naming_key_and_window(sensor):
    context = custom_window("2018-11-15T23:00:00", "2018-11-17T01:00:00")  # the 17th is missing
    with pytest.raises(AirflowFailException) as failure:
        sensor.execute(context)
    message = str(failure.value)
    assert message.startswith(
        "Late data: s3://udacity-dend/log_data/2018/11/2018-11-17-events.json still missing "
        "for the window [2018-11-15T23:00:00+00:00, 2018-11-17T01:00:00+00:00), 2h after "
        "the window's end (2018-11-17T03:00:00+00:00; Airflow Variable "
        "sparkify_late_data_timeout)."
    ), message
    assert "2018-11-15-events" not in message and "2018-11-16-events" not in message, "only the missing ones"


def test_a_recent_window_waits_in_the_triggerer_until_the_timeout_after_its_end(sensor, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_LATE_DATA_TIMEOUT", "45m")
    start, end = recent_window(minutes_ago=15)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(task_context(start.isoformat(), end.isoformat()))
    trigger = deferred.value.trigger
    assert type(trigger).__name__ == "S3KeysExistTrigger" and deferred.value.method_name == "execute_complete"
    assert trigger.bucket_name == BUCKET and trigger.aws_conn_id == "aws_default"
    assert trigger.keys == sorted({day.strftime(DAY_FILES) for day in (start, end - timedelta(microseconds=1))})
    assert timedelta(minutes=29) < deferred.value.timeout <= timedelta(minutes=30), "45 minutes after the end"


def test_the_trigger_timeout_fails_with_the_clear_message(sensor, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_LATE_DATA_TIMEOUT", "90s")
    start, end = recent_window(minutes_ago=2)
    context = task_context(start.isoformat(), end.isoformat())
    # how the task resumes once the scheduler has timed its deferral out
    with pytest.raises(
        AirflowFailException,
        match=r"^Late data: s3://udacity-dend/log_data/.* still missing for "
        r"the window \[.*\), 90s after the window's end \(.*\)\. Upload the file\(s\), then clear",
    ):
        sensor.resume_execution("__fail__", {"error": "Trigger timeout"}, context)


def test_a_bad_timeout_variable_fails_at_once(sensor, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_LATE_DATA_TIMEOUT", "two hours")
    with pytest.raises(AirflowFailException, match="sparkify_late_data_timeout='two hours' is not a usable duration"):
        sensor.execute(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))


def test_the_trigger_waits_while_a_key_is_missing_and_fires_once_it_exists(sample_data, s3):
    from sparkify.triggers import S3KeysExistTrigger

    present, late = "log_data/2018/11/2018-11-14-events.json", "log_data/2031/01/2031-01-01-events.json"
    trigger = S3KeysExistTrigger(
        bucket_name=BUCKET, keys=[present, late], aws_conn_id="aws_default", region_name="us-west-2", poke_interval=0.2
    )
    path, kwargs = trigger.serialize()
    assert path == "sparkify.triggers.S3KeysExistTrigger" and S3KeysExistTrigger(**kwargs).keys == [present, late]

    async def first_event(seconds: float):
        return await asyncio.wait_for(anext(S3KeysExistTrigger(**kwargs).run()), seconds)

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(first_event(3))  # still polling: the late file is missing
    s3.put_object(Bucket=BUCKET, Key=late, Body=b"{}\n")
    try:
        assert asyncio.run(first_event(60)).payload == {"status": "success", "keys": [present, late]}
    finally:
        s3.delete_object(Bucket=BUCKET, Key=late)
