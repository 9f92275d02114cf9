"""Faults on the real local stack: nothing lost, nothing duplicated.

- a task process killed with SIGKILL in the middle of staging, or of the fact load;
- the warehouse server restarted in the middle of a task;
- the S3 endpoint down.
Each time the task fails (or dies), the warehouse keeps its earlier contents, and the
retry completes with exact counts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import psycopg
import pytest
import redshift_connector
from airflow.sdk.exceptions import AirflowFailException

from local_stack.warehouse_server import WarehouseServer
from sparkify.operators import LoadFactOperator, StageToRedshiftOperator
from tests.support import PROJECT_ROOT, poll_until, put_objects, render_sql, reset_schema, task_context

pytestmark = pytest.mark.integration
BUCKET = "sparkify-fault-tests"
WINDOW = ("2018-11-15T03:00:00", "2018-11-15T04:00:00")
EVENTS = 150_000
MANIFESTS = "s3://sparkify-staging/manifests/"
BASE_TS = 1542250800000  # 2018-11-15 03:00:00 UTC


def big_events_file() -> bytes:
    lines = (
        json.dumps(
            {
                "page": "NextSong",
                "userId": str(1 + i % 97),
                "sessionId": i // 50,
                "itemInSession": i % 50,
                "ts": BASE_TS + i * 20,
                "level": "free",
                "firstName": "Ann",
                "song": f"s{i}",
                "artist": "a",
                "length": 200.5,
            }
        )
        for i in range(EVENTS)
    )
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def events_in_s3(s3):
    put_objects(s3, BUCKET, {"events/2018-11-15-events.json": big_events_file()})
    return "events/"


@pytest.fixture
def schema(db):
    reset_schema(db)
    db.execute(
        "INSERT INTO staging_events (page, userid, sessionid, iteminsession, ts, level) "
        "VALUES ('Earlier', 1, 1, 1, '2018-11-14 00:00', 'free')"
    )
    return db


def active_query(dsn: str, fragment: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return bool(
            conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s AND pid <> pg_backend_pid()",
                (f"%{fragment}%",),
            ).fetchone()
        )


def copied_rows(dsn: str) -> int:
    """Rows the running COPY has taken in so far (0 when none runs)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT COALESCE(MAX(tuples_processed), 0) FROM pg_stat_progress_copy").fetchone()[0]


TASK_SCRIPT = """
import sys
from tests.support import task_context
from sparkify.operators import LoadFactOperator, StageToRedshiftOperator
kind, bucket, key, sql = sys.argv[1:5]
context = task_context("2018-11-15T03:00:00", "2018-11-15T04:00:00")
if kind == "stage":
    StageToRedshiftOperator(task_id="stage_events", table="staging_events", s3_bucket=bucket, s3_key=key,
                            copy_options={"json_format": "auto ignorecase", "timeformat": "epochmillisecs"}
                            ).execute(context)
else:
    LoadFactOperator(task_id="load_songplays_fact", table="songplays", sql=sql).execute(context)
"""


def start_task(kind: str, key: str = "", sql: str = "") -> subprocess.Popen:
    env = {
        **os.environ,
        "PGOPTIONS": "-c client_connection_check_interval=200",
        "PYTHONPATH": os.pathsep.join(str(PROJECT_ROOT / p) for p in ("plugins", "include", ".")),
    }
    return subprocess.Popen(
        [sys.executable, "-c", TASK_SCRIPT, kind, BUCKET, key, sql],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("FAULT_LOG", os.devnull), "w"),
    )


def stage(key: str, **arguments) -> int:
    return StageToRedshiftOperator(
        task_id="stage_events",
        table="staging_events",
        s3_bucket=BUCKET,
        s3_key=key,
        copy_options={"json_format": "auto ignorecase", "timeformat": "epochmillisecs"},
        **arguments,
    ).execute(task_context(*WINDOW))


def test_sigkill_during_staging_leaves_no_partial_data_and_the_retry_is_exact(schema, events_in_s3, warehouse_dsn):
    task = start_task("stage", events_in_s3)
    poll_until(lambda: active_query(warehouse_dsn, 'COPY "staging_events"'), 60, "the COPY to start")
    poll_until(lambda: copied_rows(warehouse_dsn) > 0, 60, "rows to stream into the COPY")
    task.send_signal(signal.SIGKILL)
    task.wait(timeout=30)
    poll_until(lambda: not active_query(warehouse_dsn, 'COPY "staging_events"'), 30, "the server to abort the COPY")
    assert schema.execute("SELECT page FROM staging_events").fetchall() == [("Earlier",)]
    assert stage(events_in_s3) == EVENTS
    assert schema.execute("SELECT COUNT(*), COUNT(DISTINCT ts) FROM staging_events").fetchone() == (EVENTS, EVENTS)


PAUSE = "fault_pause(20)"


@pytest.fixture(autouse=True)
def fault_pause(backend):
    """A user-defined SQL function that sleeps: Redshift accepts a call to a UDF, not to pg_sleep, so the pause is
    created behind the emulator and called through it."""
    backend.execute(
        "CREATE OR REPLACE FUNCTION fault_pause(seconds INTEGER) RETURNS INTEGER VOLATILE LANGUAGE sql "
        "AS 'SELECT 1 FROM pg_sleep(seconds)'"
    )
    backend.execute("GRANT EXECUTE ON FUNCTION fault_pause(INTEGER) TO PUBLIC")


def slow(sql: str) -> str:
    """The fact SELECT, made to run for a while so that it can be interrupted (the pause comes
    first, because pg_stat_activity shows only the start of a long statement)."""
    return f"SELECT f.* FROM (SELECT {PAUSE}) pause CROSS JOIN ({sql}) f"


def test_sigkill_during_the_fact_load_leaves_no_partial_data_and_the_retry_is_exact(
    schema, events_in_s3, warehouse_dsn
):
    stage(events_in_s3)
    fact_sql = render_sql("songplays_select.sql")
    LoadFactOperator(task_id="f", table="songplays", sql=fact_sql).execute(task_context(*WINDOW))
    before = schema.execute("SELECT COUNT(*) FROM songplays").fetchone()[0]
    assert before > 0
    task = start_task("fact", sql=slow(fact_sql))
    poll_until(lambda: active_query(warehouse_dsn, PAUSE), 60, "the fact INSERT to start")
    task.send_signal(signal.SIGKILL)
    task.wait(timeout=30)
    poll_until(lambda: not active_query(warehouse_dsn, PAUSE), 30, "the server to abort the INSERT")
    assert schema.execute("SELECT COUNT(*) FROM songplays").fetchone()[0] == before  # the DELETE was rolled back
    result = LoadFactOperator(task_id="f", table="songplays", sql=fact_sql).execute(task_context(*WINDOW))
    expected = sum(1 for i in range(EVENTS) if BASE_TS + i * 20 < BASE_TS + 3_600_000)
    assert result["inserted"] == expected
    assert schema.execute("SELECT COUNT(*) FROM songplays").fetchone()[0] == expected


def test_a_warehouse_restart_fails_the_task_and_the_retry_succeeds(schema, events_in_s3, stack):
    stage(events_in_s3)
    fact_sql = render_sql("songplays_select.sql")
    errors: list[BaseException] = []

    def run_slow_fact():
        try:
            LoadFactOperator(task_id="f", table="songplays", sql=slow(fact_sql)).execute(task_context(*WINDOW))
        except BaseException as error:  # noqa: BLE001 - the failure is the point
            errors.append(error)

    worker = threading.Thread(target=run_slow_fact)
    worker.start()
    server = WarehouseServer(stack)
    poll_until(lambda: active_query(server.dsn(), PAUSE), 60, "the fact INSERT to start")
    server.stop()
    server.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert errors and isinstance(errors[0], redshift_connector.InterfaceError)  # a retryable error
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT COUNT(*) FROM songplays").fetchone()[0] == 0
    result = LoadFactOperator(task_id="f", table="songplays", sql=fact_sql).execute(task_context(*WINDOW))
    assert result["inserted"] == sum(1 for i in range(EVENTS) if i * 20 < 3_600_000)


def test_s3_down_fails_clearly_and_a_rerun_after_it_returns_is_exact(schema, events_in_s3, monkeypatch):
    """The DAG's stage tasks list S3 themselves (to write the manifest): with S3 unreachable they
    fail with a retryable error that names the endpoint, and change nothing."""
    aws = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
    closed = {**aws, "extra": {**aws["extra"], "endpoint_url": "http://127.0.0.1:9"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(closed))
    with pytest.raises(Exception, match=r"127\.0\.0\.1:9") as failure:
        stage(events_in_s3, manifest_location=MANIFESTS)
    assert not isinstance(failure.value, AirflowFailException)  # the task's retries apply
    assert schema.execute("SELECT page FROM staging_events").fetchall() == [("Earlier",)]
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(aws))
    assert stage(events_in_s3, manifest_location=MANIFESTS) == EVENTS
