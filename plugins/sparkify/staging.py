"""Run-scoped staging tables, so that concurrent runs and backfills never share staged rows.

Each DAG run stages into its own copies of the staging tables, named after the run.
Leftovers of old or crashed runs are dropped once they are older than the retention.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from sparkify.identifiers import quote_identifier, validate_identifier

REGISTRY = "staging_tables"
DEFAULT_RETENTION_HOURS = 48
RETENTION_VARIABLE = "sparkify_staging_retention_hours"


def run_scoped(base: str, run_id: str) -> str:
    """The name of `base`'s staging table for one DAG run, e.g. staging_events__r3f9c2a1b7d04."""
    validate_identifier(base, "staging table")
    return f"{base}__r{hashlib.sha256(str(run_id).encode()).hexdigest()[:12]}"


def prepare_run_staging(
    cursor: Any, bases: list[str], run_id: str, retention_hours: float
) -> list[str]:
    """Drop expired run tables, then create (if missing) and register this run's tables."""
    cutoff = _utc_now() - timedelta(hours=retention_hours)
    cursor.execute(
        f"SELECT table_name FROM {REGISTRY} WHERE run_id <> %(run_id)s AND created_at < %(cutoff)s",
        {"run_id": run_id, "cutoff": cutoff},
    )
    for (expired,) in cursor.fetchall():
        cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(expired)}")
        cursor.execute(f"DELETE FROM {REGISTRY} WHERE table_name = %(name)s", {"name": expired})
    names = []
    for base in bases:
        name = run_scoped(base, run_id)
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {quote_identifier(name)} (LIKE {quote_identifier(base)} INCLUDING DEFAULTS)")
        cursor.execute(
            f"INSERT INTO {REGISTRY} (table_name, run_id, created_at) "
            f"SELECT CAST(%(name)s AS VARCHAR(128)), CAST(%(run_id)s AS VARCHAR(256)), %(now)s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {REGISTRY} WHERE table_name = CAST(%(name)s AS VARCHAR(128)))",
            {"name": name, "run_id": run_id, "now": _utc_now()},
        )
        names.append(name)
    return names


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
