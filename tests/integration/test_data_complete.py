"""A bucket that receives no new files (Airflow Variable `sparkify_data_complete`, which the local stack sets):
wait_for_log_data does not wait for a missing day file, it fails at once naming the file and the bucket's newest
day file. Files that are there still pass; with the Variable false (AWS), the late-data wait is unchanged.

The sensor runs in-process against the session's moto S3; the newest day file is found here with boto3 and
the file names, not with project code.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from sparkify.operators import WindowFilesSensor
from tests.support import task_context

pytestmark = pytest.mark.integration

BUCKET = "udacity-dend"


@pytest.fixture
def sensor(sample_data, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_LATE_DATA_TIMEOUT", raising=False)
    return WindowFilesSensor(
        task_id="wait_for_log_data",
        s3_bucket=BUCKET,
        s3_key="log_data/%Y/%m/%Y-%m-%d-events.json",
        region_name="us-west-2",
        aws_conn_id="aws_default",
    )


def newest_day_file(s3) -> str:
    """The key of the newest day file under log_data/, by the date in its name."""
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="log_data/")
        for o in page.get("Contents", [])
    ]
    dated = {
        datetime.strptime(k.rsplit("/", 1)[1], "%Y-%m-%d-events.json").date(): k
        for k in keys
        if k.endswith("-events.json")
    }
    return dated[max(dated)]


def hour_ending_now() -> dict:
    """The context of the run a UI trigger or the scheduler makes now: the hour that just ended, no file yet."""
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return task_context(end - timedelta(hours=1), end)


def test_a_missing_file_fails_at_once_naming_it_and_the_newest_day_file(sensor, s3, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_DATA_COMPLETE", "true")
    context = hour_ending_now()
    start = context["data_interval_start"]
    newest = newest_day_file(s3)
    newest_day = date.fromisoformat(newest.rsplit("/", 1)[1][:10])
    assert newest_day < start.date(), "the sample's data ends before today"

    with pytest.raises(AirflowFailException) as failure:  # not TaskDeferred: no wait
        sensor.execute(context)

    end = context["data_interval_end"]
    end_label = "24:00" if end.hour == 0 else f"{end:%H:%M}"  # the hour before midnight ends at 24:00, not 00:00
    assert str(failure.value) == (
        f"No data for the window {start:%Y-%m-%d %H:%M}–{end_label} UTC: the bucket's data "
        f"ends on {newest_day.isoformat()} (newest day file s3://{BUCKET}/{newest}), and "
        f"s3://{BUCKET}/log_data/{start:%Y/%m/%Y-%m-%d}-events.json is missing. The run does not wait for it: "
        "Airflow Variable sparkify_data_complete is true (this bucket receives no new files). Trigger a window up "
        f"to {newest_day.isoformat()} 24:00 UTC from the form, or upload the file(s) and clear this task."
    )


def test_files_that_are_there_still_pass(sensor, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_DATA_COMPLETE", "true")
    start = "2018-11-15T07:00:00"
    assert sensor.execute(task_context(start, "2018-11-15T08:00:00")) is None


def test_without_it_the_same_hour_waits_for_late_data(sensor, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_DATA_COMPLETE", "false")
    with pytest.raises(TaskDeferred):
        sensor.execute(hour_ending_now())


def test_a_bad_value_fails_at_once_naming_the_variable(sensor, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_DATA_COMPLETE", "maybe")
    with pytest.raises(
        AirflowFailException, match="Airflow Variable sparkify_data_complete='maybe' is not true or false"
    ):
        sensor.execute(hour_ending_now())
