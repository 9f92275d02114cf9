"""Helpers shared by the tests: task contexts, schema set-up, S3 fixtures."""

from __future__ import annotations

import types
from pathlib import Path
from typing import NamedTuple

import jinja2
import pendulum
import psycopg

from sparkify.ddl import split_statements
from sparkify.staging import run_scoped

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "include" / "sql"
TABLES = (
    "staging_events", "staging_songs", "staging_song_files", "song_file_ledger", "staging_tables",
    "songplays", "users", "songs", "artists", "time", "dq_results",
)


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


def reset_schema(conn: psycopg.Connection) -> None:
    """Drop every table (run-scoped staging copies too) and recreate them from include/sql/create_tables.sql."""
    copies = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '%%\\_\\_r%%'")
    for (table,) in copies.fetchall():
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    for table in TABLES:
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    for statement in split_statements((SQL_DIR / "create_tables.sql").read_text()):
        conn.execute(statement)  # Redshift DDL: the emulator rewrites it


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
    from local_stack.airflow_runner import run_conf

    run = dag.test(logical_date=logical_date, run_conf=run_conf(conf))
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
        "FROM stl_load_errors WHERE query > %s ORDER BY query, line_number, position", (query,),
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
