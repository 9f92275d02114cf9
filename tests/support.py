"""Helpers shared by the tests: task contexts, schema set-up, S3 fixtures."""

from __future__ import annotations

import types
from pathlib import Path

import pendulum
import psycopg

from sparkify.ddl import postgres_script

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "include" / "sql"
TABLES = ("staging_events", "staging_songs", "songplays", "users", "songs", "artists", "time", "load_errors", "dq_results")


def task_context(start, end, params: dict | None = None, run_type: str = "scheduled") -> dict:
    """The parts of an Airflow task context that the operators read."""
    start, end = pendulum.parse(str(start), tz="UTC"), pendulum.parse(str(end), tz="UTC")
    return {
        "dag_run": types.SimpleNamespace(run_type=run_type, run_after=end),
        "data_interval_start": start,
        "data_interval_end": end,
        "logical_date": start,
        "params": params or {},
    }


def reset_schema(conn: psycopg.Connection) -> None:
    """Drop and recreate every table from include/sql/create_tables.sql."""
    for table in TABLES:
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    for statement in postgres_script((SQL_DIR / "create_tables.sql").read_text()):
        conn.execute(statement)


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
