"""The live scheduler runs sparkify_etl on its hourly cron schedule by itself.

The session's `airflow_services` has cron scheduling off, so this module starts a second
Airflow with it on (its own home, ports and metadata database) whose Variables point the
DAG at a private events prefix. Events are written for the latest complete hour (and the
current hour, in case the hour flips during the test) and an older hour that catchup=False
must skip; after unpausing, nothing but the scheduler creates a run.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.expected import expected_star, read_songs, utc
from tests.live.conftest import DAG_ID, private_airflow
from tests.support import assert_star_matches, poll_until, put_objects, reset_schema

pytestmark = pytest.mark.integration
BUCKET = "udacity-dend"
SONG_PREFIX = "song_data/"
LOG_PREFIX = f"schedule-test-{secrets.token_hex(3)}/log_data/"
HOUR = timedelta(hours=1)
WAIT = 240  # seconds for the scheduler to create and finish its runs


@pytest.fixture(scope="module")
def scheduling_airflow(stack, airflow_login, sample_data):
    """A second live Airflow with cron scheduling on, reading events from LOG_PREFIX."""
    extra_env = {
        "AIRFLOW_VAR_SPARKIFY_S3_BUCKET": BUCKET,
        "AIRFLOW_VAR_SPARKIFY_LOG_PREFIX": LOG_PREFIX,
        "AIRFLOW_VAR_SPARKIFY_SONG_PREFIX": SONG_PREFIX,
    }
    with private_airflow(stack, airflow_login, "schedule", extra_env) as services:
        assert "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE" not in services.environment()
        yield services


def raw_events(root: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((root / "log_data").rglob("*-events.json"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def events_for_hours(sample: Path, hours: list[datetime]) -> list[dict]:
    """Real events from the sample, moved into `hours`: per hour, plays that match a catalogue
    song, plays that do not, a guest play and a non-play page, in a session of their own."""
    catalogue = {(s["title"], s["artist_name"], s["duration"]) for s in read_songs(sample)}
    events = raw_events(sample)
    plays = [e for e in events if e["page"] == "NextSong" and e["userId"]]
    matching = [e for e in plays if (e["song"], e["artist"], e["length"]) in catalogue]
    other = [e for e in plays if (e["song"], e["artist"], e["length"]) not in catalogue]
    guest = next(e for e in events if e["page"] == "NextSong" and not e["userId"])
    page = next(e for e in events if e["page"] != "NextSong" and e["userId"])
    assert len(matching) >= 3 * len(hours) and len(other) >= 2 * len(hours), (
        "the sample should have plays of both kinds"
    )
    out = []
    for n, hour in enumerate(hours):
        chosen = matching[3 * n : 3 * n + 3] + other[2 * n : 2 * n + 2] + [guest, page]
        for item, event in enumerate(chosen):
            moment = hour + timedelta(minutes=3 + 8 * item, seconds=item)
            out.append(
                {
                    **event,
                    "sessionId": 900000 + n,
                    "itemInSession": item,
                    "ts": int(moment.replace(tzinfo=timezone.utc).timestamp() * 1000),
                }
            )
    return out


def day_files(events: list[dict]) -> dict[str, str]:
    """Events by day file, in the bucket layout: log_data/YYYY/MM/YYYY-MM-DD-events.json."""
    by_day: dict[str, list[str]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e["ts"]):
        day = datetime.fromtimestamp(event["ts"] / 1000, tz=timezone.utc)
        by_day[f"log_data/{day:%Y/%m/%Y-%m-%d}-events.json"].append(json.dumps(event))
    return {key: "\n".join(lines) + "\n" for key, lines in by_day.items()}


def bucket_folder(s3, root: Path, prefix: str) -> None:
    """Download what the DAG will read under `prefix` into `root`, keyed by relative path."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            target = root / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(BUCKET, obj["Key"], str(target))


def scheduled_runs(api) -> list[dict]:
    runs = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"run_type": "scheduled", "limit": 100})["dag_runs"]
    return sorted(runs, key=lambda r: r["data_interval_start"])


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def test_the_scheduler_runs_the_latest_complete_hour_by_itself(scheduling_airflow, sample_data, s3, db, tmp_path):
    services, api = scheduling_airflow, scheduling_airflow.api()
    assert api.get(f"/api/v2/dags/{DAG_ID}")["is_paused"], "a fresh install starts the DAG paused"
    assert scheduled_runs(api) == [] and api.get(f"/api/v2/dags/{DAG_ID}/dagRuns")["total_entries"] == 0

    started = now_utc()
    latest = floor_hour(started) - HOUR  # the latest complete hour; the current one, if the hour flips
    skipped = latest - HOUR  # catchup=False: no run may load it
    events = events_for_hours(sample_data, [skipped, latest, latest + HOUR])
    files = day_files(events)
    put_objects(s3, BUCKET, {LOG_PREFIX.removesuffix("log_data/") + key: body for key, body in files.items()})
    for key, body in files.items():  # the model's folder: the same day files and the bucket's songs
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text(body, encoding="utf-8")
    bucket_folder(s3, tmp_path, SONG_PREFIX)
    assert read_songs(tmp_path), "the bucket should hold the sample's songs"

    reset_schema(db)
    api.set_paused(DAG_ID, False)

    deadline = time.monotonic() + WAIT
    loaded: dict = {}  # the finished runs, their intervals and the star schema they should have built

    def finished_and_loaded() -> bool:
        runs = scheduled_runs(api)
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            assert {r["state"] for r in runs} == {"success"}, [(r["dag_run_id"], r["state"]) for r in runs]
            intervals = [(utc(r["data_interval_start"]), utc(r["data_interval_end"])) for r in runs]
            expected = expected_star(tmp_path, intervals)
            loaded.update(runs=runs, intervals=intervals, expected=expected)
            try:
                assert_star_matches(db, expected)
            except AssertionError:
                if scheduled_runs(api) == runs:
                    raise
            else:
                return scheduled_runs(api) == runs  # no run was created (the hour did not flip) meanwhile
        elif runs:
            unfinished = next(r for r in runs if r["state"] not in ("success", "failed"))
            api.wait_for_run(DAG_ID, unfinished["dag_run_id"], timeout=max(1.0, deadline - time.monotonic()))
        return False

    try:
        poll_until(
            finished_and_loaded,
            WAIT,
            lambda: (
                f"no finished scheduled run within {WAIT}s: {scheduled_runs(api)}\n{services._log_tails(['scheduler'])}"
            ),
            interval=1,
        )
    finally:
        api.set_paused(DAG_ID, True)
    runs, intervals, expected = loaded["runs"], loaded["intervals"], loaded["expected"]

    finished = now_utc()
    all_runs = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns")["dag_runs"]
    assert {r["run_type"] for r in all_runs} == {"scheduled"}, "only the scheduler created runs"
    for run, (start, end) in zip(runs, intervals, strict=True):
        assert end - start == HOUR and start == floor_hour(start), run
        assert end <= floor_hour(utc(run["queued_at"])) and end <= finished, run
        assert start >= latest, f"catchup=False must not run an hour older than {latest}: {run}"
    newest = runs[-1]
    assert intervals[-1][1] == floor_hour(utc(newest["queued_at"])), (
        f"the newest run should be the latest complete hour when it was created: {newest}"
    )
    assert [s for s, _ in intervals] == [latest + HOUR * n for n in range(len(runs))], intervals
    assert len(runs) == 1 or floor_hour(finished) > floor_hour(started), "a second run only if the hour flipped"
    assert len(expected.songplays) == 5 * len(runs) and expected.skipped_guest_plays == len(runs)
    assert any(row[4] for row in expected.songplays) and any(row[4] is None for row in expected.songplays)
