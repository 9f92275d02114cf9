"""Rejected rows of local loads, recorded like Redshift's stl_load_errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from local_stack.redshift.s3copy.errors import LoadError, shorten

LOAD_ERRORS_TABLE = "load_errors"
_INSERT = (
    f"INSERT INTO {LOAD_ERRORS_TABLE} (run_id, table_name, s3_key, line_number, position, "
    "column_name, column_type, raw_value, reason, recorded_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def record_load_errors(cursor: Any, run_id: str, table: str, errors: Sequence[LoadError]) -> None:
    """Insert one row per rejected input row, in the caller's transaction."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    cursor.executemany(_INSERT, [
        (run_id, table, e.key, e.line, e.position, e.column, e.column_type,
         shorten(e.raw_value, 1024) if e.raw_value is not None else None, shorten(e.reason, 1024), now)
        for e in errors
    ])
