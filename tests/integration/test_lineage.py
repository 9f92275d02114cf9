"""OpenLineage events of one whole run of sparkify_etl, captured by the provider's file transport.

The run is `airflow dags test` in a process of its own, because the provider registers its
listener when Airflow loads its plugins: the transport must be configured before that, and the
rest of the suite runs with OpenLineage off (no transport), as `make demo` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from local_stack.settings import PROJECT_ROOT
from tests.support import busy_hours, reset_schema

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("keep_run_tables")]  # reads run tables after the run


STAR = ("songplays", "users", "songs", "artists", "time")


def run_with_lineage(events_file: Path, logical_date: datetime, conf: dict) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "sparkify-test",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "0",
        "PYTHONPATH": os.pathsep.join(str(PROJECT_ROOT / p) for p in ("include", "plugins", ".")),
    }
    # `airflow dags test`, through local_stack.airflow_runner.in_process_run: Airflow 3.3.2's dag.test() cannot
    # evaluate a Deadline Alert when a run succeeds, so in-process runs leave it out.
    script = (
        "import json, sys; from datetime import datetime; "
        "from local_stack.airflow_runner import load_dag, in_process_run; "
        "run = in_process_run(load_dag(), datetime.fromisoformat(sys.argv[1]), json.loads(sys.argv[2])); "
        "sys.exit(0 if str(getattr(run.state, 'value', run.state)) == 'success' else 1)"
    )
    return subprocess.run(
        [sys.executable, "-c", script, logical_date.isoformat(), json.dumps(conf)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def completed_tasks(events_file: Path, event_type: str = "COMPLETE") -> dict[str, dict]:
    """The COMPLETE (or FAIL) event of each task (job name `sparkify_etl.<task_id>`), by task id."""
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    return {
        e["job"]["name"].split(".", 1)[1]: e
        for e in events
        if e["eventType"] == event_type and e["job"]["name"].startswith("sparkify_etl.")
    }


def one_busy_hour(sample_data) -> tuple[datetime, dict]:
    hour = busy_hours(sample_data, 1)[0].replace(tzinfo=timezone.utc)
    return hour, {"window_start": hour.isoformat(), "window_end": (hour + timedelta(hours=1)).isoformat()}


def datasets(event: dict, side: str) -> dict[str, dict]:
    return {f"{d['namespace']}|{d['name']}": d for d in event[side]}


def test_one_run_reports_its_datasets_and_quality_assertions(settings, sample_data, db, airflow_db, tmp_path):
    reset_schema(db)
    hour, window = one_busy_hour(sample_data)
    events_file = tmp_path / "openlineage.jsonl"
    result = run_with_lineage(events_file, hour, window)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tasks = completed_tasks(events_file)
    assert {"stage_events", "stage_songs", "load_songplays_fact", "run_quality_checks", "publish"} <= set(tasks)

    warehouse = f"redshift://{settings.warehouse_host}:{settings.warehouse_port}|dev.public."
    copies = dict(
        db.execute("SELECT regexp_replace(table_name, '__r.*', ''), table_name FROM staging_tables").fetchall()
    )

    # stage: the window's day file and the song prefix in, the run's staging tables out
    stage_events = tasks["stage_events"]
    day_file = f"log_data/{hour:%Y/%m/%Y-%m-%d}-events.json"
    assert list(datasets(stage_events, "inputs")) == [f"s3://udacity-dend|{day_file}"]
    [(name, staged)] = datasets(stage_events, "outputs").items()
    assert name == warehouse + copies["staging_events"]
    assert [f["name"] for f in staged["facets"]["schema"]["fields"]][:3] == ["artist", "auth", "firstname"]
    assert staged["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "OVERWRITE"
    rows = db.execute(f'SELECT COUNT(*) FROM "{copies["staging_events"]}"').fetchone()[0]
    assert staged["outputFacets"]["outputStatistics"]["rowCount"] == rows > 0
    select = tasks["select_song_files"]
    assert set(datasets(select, "inputs")) == {"s3://udacity-dend|song_data/", warehouse + "song_file_ledger"}
    [manifest] = [name for name in datasets(select, "outputs") if name.startswith("s3://")]
    assert manifest.startswith("s3://sparkify-staging|manifests/sparkify_etl/select_song_files/"), manifest
    assert set(datasets(select, "outputs")) == {manifest, warehouse + "song_file_listing"}
    stage_songs = tasks["stage_songs"]
    assert set(datasets(stage_songs, "inputs")) == {manifest}  # song_data/ → the manifest → staging_songs
    assert set(datasets(stage_songs, "outputs")) == {
        warehouse + copies["staging_songs"],
        warehouse + copies["staging_song_files"],
    }

    # write: the fact and dimension loads read the staging copies (and the star) and write the shadows
    fact = tasks["load_songplays_fact"]
    assert set(datasets(fact, "inputs")) == {
        warehouse + copies["staging_events"],
        warehouse + copies["staging_songs"],
        warehouse + "songs",
        warehouse + "artists",
    }
    [(name, shadow)] = datasets(fact, "outputs").items()
    assert name == warehouse + copies["songplays"]
    assert "songplay_id" in [f["name"] for f in shadow["facets"]["schema"]["fields"]]
    assert (
        shadow["outputFacets"]["outputStatistics"]["rowCount"]
        == db.execute(f'SELECT COUNT(*) FROM "{copies["songplays"]}"').fetchone()[0]
        > 0
    )
    for dimension in ("users", "songs", "artists", "time"):
        assert list(datasets(tasks[f"load_{dimension}_dim"], "outputs")) == [warehouse + copies[dimension]]
    assert warehouse + copies["songplays"] in datasets(tasks["load_time_dim"], "inputs")

    # publish: shadows in, the star schema and the ledger out, with the rows each received
    publish = tasks["publish"]
    assert {warehouse + copies[t] for t in STAR} <= set(datasets(publish, "inputs"))
    published = datasets(publish, "outputs")
    assert list(published) == [warehouse + t for t in (*STAR, "song_file_ledger")]
    assert (
        published[warehouse + "songplays"]["outputFacets"]["outputStatistics"]["rowCount"]
        == db.execute("SELECT COUNT(*) FROM songplays").fetchone()[0]
    )

    # audit: one assertion per check, on the table it audits, as recorded in dq_results
    audit = tasks["run_quality_checks"]
    recorded = {
        (table, check): passed
        for table, check, passed in db.execute(
            "SELECT table_name, check_name, passed FROM dq_results WHERE window_start = %s",
            (hour.replace(tzinfo=None),),
        ).fetchall()
    }
    reported = {}
    for name, dataset in datasets(audit, "inputs").items():
        assert name.startswith(warehouse)
        for assertion in dataset["inputFacets"]["dataQualityAssertions"]["assertions"]:
            reported[(name.removeprefix(warehouse), assertion["name"])] = assertion
    assert {key: a["success"] for key, a in reported.items()} == recorded
    assert all(recorded.values()) and len(recorded) >= 20
    not_null = reported[("songplays", "songplays_user_id_not_null")]
    assert (not_null["assertion"], not_null["column"], not_null["severity"]) == ("not_null", "user_id", "error")
    assert list(datasets(audit, "outputs")) == [warehouse + "dq_results"]

    # no credential of either connection in any event
    text = events_file.read_text()
    for secret in (settings.warehouse_password, settings.aws_conn["password"], settings.aws_conn["login"]):
        assert secret not in text


def test_a_failed_audit_reports_the_failed_assertions(settings, sample_data, db, airflow_db, tmp_path):
    reset_schema(db)
    hour, window = one_busy_hour(sample_data)
    # A published time row in the window (so audited) whose key no play of the window has (so kept by the merge)
    instant = hour.replace(tzinfo=None) + timedelta(microseconds=1)  # the events' times are whole milliseconds
    db.execute("INSERT INTO time VALUES (%s, 25, %s, 1, 11, 2018, 4)", (instant, instant.day))
    events_file = tmp_path / "openlineage.jsonl"
    result = run_with_lineage(events_file, hour, window)
    failed = completed_tasks(events_file, "FAIL")
    assert list(failed) == ["run_quality_checks"], result.stdout[-3000:] + result.stderr[-3000:]
    assert "publish" not in completed_tasks(events_file)
    warehouse = f"redshift://{settings.warehouse_host}:{settings.warehouse_port}|dev.public."
    time = datasets(failed["run_quality_checks"], "inputs")[warehouse + "time"]
    assertions = {a["name"]: a for a in time["inputFacets"]["dataQualityAssertions"]["assertions"]}
    hour_max = assertions["time_hour_max"]
    assert (hour_max["success"], hour_max["column"], hour_max["actual"], hour_max["severity"]) == (
        False,
        "hour",
        "25",
        "error",
    )
    assert [name for name, a in assertions.items() if not a["success"]] == ["time_hour_max"]
