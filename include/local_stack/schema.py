"""A clean slate in the warehouse for the tests and the benchmark: the project's tables, empty."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sparkify.ddl import split_statements, table_columns

CREATE_TABLES = Path(__file__).resolve().parents[1] / "sql" / "create_tables.sql"
# A run's copy of a table (sparkify.staging.run_scoped) or a cached copy of an S3 object (sparkify.s3copy.object_cache).
PROJECT_COPIES = re.compile(r"__(r[0-9a-f]{12}|o[0-9a-f]{16})$")


def reset_schema(conn: Any) -> None:
    """Drop the tables of include/sql/create_tables.sql and every run's copies of them (never the
    emulator's system tables), then create them again. `conn`: a psycopg connection in autocommit."""
    ddl = CREATE_TABLES.read_text()
    present = [
        name
        for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    ]
    for table in sorted({*(name for name in present if PROJECT_COPIES.search(name)), *table_columns(ddl)}):
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    for statement in split_statements(ddl):
        conn.execute(statement)  # Redshift DDL: the emulator rewrites it
