"""Helpers shared by the tests: task contexts, schema set-up, S3 objects, polling, the star schema and logs."""

from __future__ import annotations

import copy
import hashlib
import re
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import jinja2
import pendulum
import psycopg
import redshift_connector

from local_stack.schema import reset_schema  # noqa: F401  (the tests' clean slate, shared with bench/)
from local_stack.warehouse_server import WarehouseServer
from sparkify.staging import run_scoped
from tests.expected import event_time, read_events, utc

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "include" / "sql"

T = TypeVar("T")


def poll_until(
    condition: Callable[[], T],
    timeout: float,
    message: str | Callable[[], str],
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `condition` until it returns something truthy, and return that; after `timeout` seconds,
    fail with `message` (a callable is asked for it only then, e.g. for log tails). An exception of a
    type in `ignoring` (say, a REST call timing out on a loaded machine) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignoring:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s: {message() if callable(message) else message}")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


@contextmanager
def in_fresh_schema(db, schema: str) -> Iterator[Any]:
    """`db` working in an empty schema `schema` (its search path), dropped again afterwards."""
    db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    db.execute(f"CREATE SCHEMA {schema}")
    db.execute(f"SET search_path = {schema}")
    try:
        yield db
    finally:
        db.execute("RESET search_path")
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def task_context(start, end, params: dict | None = None, run_type: str = "scheduled", run_id: str = "test_run") -> dict:
    """The parts of an Airflow task context that the operators read (and the DAG's run_scoped macro)."""
    start, end = pendulum.parse(str(start), tz="UTC"), pendulum.parse(str(end), tz="UTC")
    return {
        "dag_run": types.SimpleNamespace(run_type=run_type, run_after=end),
        "data_interval_start": start,
        "data_interval_end": end,
        "logical_date": start,
        "params": params or {},
        "run_id": run_id,
        "run_scoped": run_scoped,
    }


def render_sql(name: str, run_id: str | None = None) -> str:
    """A SQL file rendered as the DAG would; without a run_id, staging tables keep their base names."""
    template = jinja2.Template((SQL_DIR / name).read_text())
    return template.render(run_id=run_id, run_scoped=run_scoped if run_id else (lambda base, _run_id: base))


def ensure_bucket(s3, bucket: str) -> None:
    names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in names:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})


def put_objects(s3, bucket: str, objects: dict[str, bytes | str]) -> None:
    ensure_bucket(s3, bucket)
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)


def clear_prefix(s3, bucket: str, prefix: str) -> None:
    ensure_bucket(s3, bucket)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    if listed:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})


def run_dag(dag, logical_date, conf: dict | None = None) -> str:
    """One in-process run with dag.test(); returns its final state."""
    from local_stack.airflow_runner import in_process_run

    run = in_process_run(dag, logical_date, conf)
    return str(getattr(run.state, "value", run.state))


class LoadErrorRow(NamedTuple):
    """One row of the emulator's stl_load_errors, CHAR columns trimmed, `tbl` as the table's name."""

    query: int
    table: str | None
    filename: str
    line: int
    column: str
    column_type: str
    position: int
    raw_value: str
    err_code: int
    reason: str


def last_load_error_query(conn: psycopg.Connection) -> int:
    """The highest COPY query id in stl_load_errors so far (0 before any): a later COPY's rejects have higher ids."""
    if conn.execute("SELECT to_regclass('stl_load_errors')").fetchone()[0] is None:
        return 0  # the emulator creates its catalog with the first COPY of a database
    return conn.execute("SELECT COALESCE(MAX(query), 0) FROM stl_load_errors").fetchone()[0]


def load_errors_since(conn: psycopg.Connection, query: int) -> list[LoadErrorRow]:
    """The rejects that stl_load_errors records for COPYs after `query`, in load order."""
    if conn.execute("SELECT to_regclass('stl_load_errors')").fetchone()[0] is None:
        return []
    rows = conn.execute(
        "SELECT query, (SELECT relname FROM pg_class WHERE oid = tbl), TRIM(filename), line_number, TRIM(colname), "
        "TRIM(type), position, TRIM(raw_field_value), err_code, TRIM(err_reason) "
        "FROM stl_load_errors WHERE query > %s ORDER BY query, line_number, position",
        (query,),
    ).fetchall()
    return [LoadErrorRow(*row) for row in rows]


def logged_reject(log: str, key: str, line: int, column: str, reason: str) -> bool:
    """Whether one line of a task's log names the reject's key, line, column and reason."""
    named = (key, f" line {line},", f" column {column} " if column else " column  (", reason)
    return any(all(part in text for part in named) for text in log.splitlines())


def the_only_reject(rows: list[LoadErrorRow], log: str, **expected) -> LoadErrorRow:
    """The one reject in `rows`, whose fields equal `expected`.

    The task `log` names its key, line, column and reason."""
    assert len(rows) == 1, rows
    [reject] = rows
    assert {name: getattr(reject, name) for name in expected} == expected, reject
    assert logged_reject(log, reject.filename, reject.line, reject.column, reject.reason), log
    return reject


# --- the star schema, compared and checksummed (integration and live tests) ----------------------
SAMPLE_DAY = datetime(2018, 11, 15)  # the sample data's busy day (tests/integration/conftest.py: sample_data)
STAR = ("songplays", "users", "songs", "artists", "time")
# The tasks of sparkify_etl that write to the warehouse, in the DAG's order, so take a slot of its pool;
# the others are begin, wait_for_log_data and end.
WAREHOUSE_WRITERS = (
    "create_tables",
    "stage_events",
    "select_song_files",
    "stage_songs",
    "load_songplays_fact",
    "load_users_dim",
    "load_songs_dim",
    "load_artists_dim",
    "load_time_dim",
    "run_quality_checks",
    "publish",
    "drop_run_tables",
)

STAR_QUERIES = {
    "songplays": "SELECT songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, "
    "user_agent FROM songplays",
    "users": "SELECT user_id, first_name, last_name, gender, level FROM users",
    "songs": "SELECT song_id, title, artist_id, year, duration FROM songs",
    "artists": "SELECT artist_id, name, location, latitude, longitude FROM artists",
    "time": "SELECT start_time, hour, day, week, month, year, weekday FROM time",
}


def warehouse_star(db) -> dict[str, set[tuple]]:
    return {table: set(db.execute(sql).fetchall()) for table, sql in STAR_QUERIES.items()}


def assert_star_matches(db, expected) -> None:
    actual = warehouse_star(db)
    for table in STAR_QUERIES:
        want = getattr(expected, table)
        assert actual[table] == want, f"{table}: {len(actual[table])} rows, expected {len(want)}"


def busy_hours(root, count: int) -> list[datetime]:
    """Hours of SAMPLE_DAY with the most NextSong plays, so the runs have work to do."""
    plays = [
        event_time(e).replace(minute=0, second=0, microsecond=0)
        for e in read_events(root)
        if e["page"] == "NextSong" and event_time(e).date() == SAMPLE_DAY.date()
    ]
    return sorted(set(plays), key=lambda h: (-plays.count(h), h))[:count]


def checksums(db, tables=STAR) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every row, per table (computed here: the warehouse's SQL is
    Redshift's, which has no row-to-text cast or STRING_AGG)."""
    sums = {}
    for table in tables:
        rows = sorted(
            hashlib.md5(repr(tuple(row)).encode()).hexdigest() for row in db.execute(f'SELECT * FROM "{table}"')
        )
        sums[table] = (len(rows), hashlib.md5("".join(rows).encode()).hexdigest() if rows else "")
    return sums


class _Variables:
    """`var.value.get(name, default)` in templates: no Variables are set here, so the defaults apply."""

    class value:  # noqa: N801 - the name templates use
        @staticmethod
        def get(name, default=None):
            return default


def rerun_task(dag, task_id: str, run_id: str, window: dict) -> object:
    """Execute one task again for an existing run, as clearing it would: same run_id, same window.

    The task is copied, rendered with the run's context, and executed in this process; an XCom it
    pulls comes from executing the task that returns it again (_RerunTaskInstance). Returns its result.
    """
    task = copy.deepcopy(dag.get_task(task_id))
    context = task_context(
        window["window_start"],
        window["window_end"],
        run_id=run_id,
        params={"window_start": window["window_start"], "window_end": window["window_end"], "full_refresh": False},
    )
    context["var"] = _Variables()
    context["ti"] = _RerunTaskInstance(dag, run_id, window)
    task.render_template_fields(context)
    return task.execute(context)


class _RerunTaskInstance:
    """What the operators and XComArg.resolve use of a task instance when rerun_task executes one task."""

    try_number = 1
    _upstream_map_indexes: dict = {}  # nothing is mapped: XComArg.resolve pulls the unmapped value

    def __init__(self, dag, run_id: str, window: dict) -> None:
        self.dag, self.run_id, self.window = dag, run_id, window

    def xcom_pull(self, task_ids: str, key: str = "return_value", **_: object) -> object:
        assert key == "return_value", key
        return rerun_task(self.dag, task_ids, self.run_id, self.window)

    def xcom_push(self, key: str, value: object) -> None:
        pass  # nothing re-run reads another key


# --- backfills on the live scheduler (tests/live) -----------------------------------------------
WAITING = "Waiting for Airflow to close backfill"  # make backfill's (local_stack.backfill) last wait
PROGRESS = re.compile(
    r"^(\d+)/(\d+) hours done, (\d+) running(?:, (\d+) queued)?, (\d+) failed"
    r"(?:, (\d+) tasks? waiting to retry)? \(\d+m\d\ds\)$"
)


def iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


def busiest_free_block(root, hours: int, taken: set[datetime]) -> datetime:
    """The first of `hours` consecutive hours with the most NextSong plays and no run yet.

    A backfill skips logical dates that already have a run (other tests' runs share this
    Airflow), so the block avoids them.
    """
    plays = [event_time(e) for e in read_events(root) if e["page"] == "NextSong"]
    days = sorted({t.date() for t in plays})
    starts = [datetime(d.year, d.month, d.day) + timedelta(hours=h) for d in days for h in range(24 - hours + 1)]

    def free(first: datetime) -> bool:
        return not any(first <= t < first + timedelta(hours=hours) for t in taken)

    def count(first: datetime) -> int:
        return sum(first <= t < first + timedelta(hours=hours) for t in plays)

    return max((s for s in starts if free(s)), key=count)


def block_runs(api, first: datetime, hours: int, dag_id: str = "sparkify_etl") -> list[dict]:
    """The runs of the block's hours, each with its task instances."""
    runs = api.get(
        f"/api/v2/dags/{dag_id}/dagRuns",
        params={
            "logical_date_gte": iso(first),
            "logical_date_lte": iso(first + timedelta(hours=hours - 1)),
            "order_by": "logical_date",
            "limit": 100,
        },
    )["dag_runs"]
    for run in runs:
        run["task_instances"] = api.task_instances(dag_id, run["dag_run_id"])
    return runs


def most_at_once(intervals: list[tuple[str, str, str]]) -> int:
    """The most distinct owners (first item) with an interval [start, end) open at the same instant."""
    events = sorted(
        [(utc(start), 1, owner) for owner, start, _ in intervals]
        + [(utc(end), 0, owner) for owner, _, end in intervals]
    )  # at a tie, ends come first
    open_by: dict[str, int] = {}
    best = 0
    for _, is_start, owner in events:
        open_by[owner] = open_by.get(owner, 0) + (1 if is_start else -1)
        best = max(best, sum(1 for count in open_by.values() if count > 0))
    return best


COPY_LINE = re.compile(r"^\S+ \S+ pid=\d+ (COPY (\S+) FROM (s3://\S+))$")


class StatementLog:
    """The statements the emulator logs from now on."""

    def __init__(self, stack) -> None:
        self.path = WarehouseServer(stack).statement_log
        self.start = self.path.stat().st_size if self.path.exists() else 0

    def lines(self) -> list[str]:
        with self.path.open("rb") as log:
            log.seek(self.start)
            return log.read().decode().splitlines()

    def copies(self) -> list[tuple[str, str]]:
        """(table, source) of each COPY from S3."""
        return [match.group(2, 3) for line in self.lines() if (match := COPY_LINE.match(line))]


def failure_context(error: BaseException) -> dict:
    context = task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00", run_id="scheduled__2018-11-15T00:00:00+00:00")
    ti = types.SimpleNamespace(dag_id="sparkify_etl", task_id="load_users_dim", run_id=context["run_id"], try_number=4)
    from airflow.sdk import DAG

    return {**context, "ti": ti, "dag": DAG("sparkify_etl", schedule=None), "exception": error}


def report_tables(page: str) -> dict[str, list[list[str]]]:
    """Each section's table, as the text of its cells."""
    tables = {}
    for name, body in re.findall(r'<section id="([^"]+)">(.*?)</section>', page, re.DOTALL):
        rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[-1], re.DOTALL)
        tables[name] = [[unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)] for row in rows]
    return tables


def connect_redshift_connector(settings, database: str | None = None, password: str | None = None):
    """A redshift_connector session through the emulator as the stack's login (no TLS: 127.0.0.1 only)."""
    return redshift_connector.connect(
        host=settings.warehouse_host,
        port=settings.warehouse_port,
        database=database or settings.warehouse_db,
        user=settings.warehouse_user,
        password=password or settings.warehouse_password,
        ssl=False,
    )
