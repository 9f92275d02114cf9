"""Run-scoped staging tables, so that concurrent runs and backfills never share staged rows.

Each DAG run stages into its own copies of the staging tables, named after the run.
Leftovers of old or crashed runs are dropped once they have not been used for longer
than the retention, and only when their run is no longer queued or running: the
registry's `created_at` is the tables' last use, refreshed each time their run
(re)creates them, for example when an old run is cleared and executed again.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from sparkify.identifiers import quote_identifier, validate_identifier

REGISTRY = "staging_tables"
DEFAULT_RETENTION_HOURS = 48
MIN_RETENTION_HOURS = 1
MAX_RETENTION_HOURS = 24 * 366 * 10  # ten years: a larger value is a typo, not a policy
RETENTION_VARIABLE = "sparkify_staging_retention_hours"
log = logging.getLogger(__name__)


class StagingSettingError(ValueError):
    """A staging setting (an Airflow Variable) that cannot be used; the message says why."""


def run_scoped(base: str, run_id: str) -> str:
    """The name of `base`'s staging table for one DAG run, e.g. staging_events__r3f9c2a1b7d04."""
    validate_identifier(base, "staging table")
    return f"{base}__r{hashlib.sha256(str(run_id).encode()).hexdigest()[:12]}"


def parse_retention_hours(value: Any) -> float:
    """The retention in hours: a finite number from 1 hour up to ten years, else StagingSettingError."""
    hours = _as_number(value)
    if not (math.isfinite(hours) and MIN_RETENTION_HOURS <= hours <= MAX_RETENTION_HOURS):
        raise StagingSettingError(
            f"Airflow Variable {RETENTION_VARIABLE}={value!r} is not a usable retention: give a number of hours "
            f"from {MIN_RETENTION_HOURS} to {MAX_RETENTION_HOURS} (default {DEFAULT_RETENTION_HOURS}). A run's "
            f"staging tables are kept at least this long after their last use."
        )
    return hours


def _as_number(value: Any) -> float:
    """`value` (a number, or a string as a Variable holds it) as a float; NaN when it is not a number."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value if isinstance(value, (int, float)) else str(value).strip())
    except (ValueError, OverflowError):
        return math.nan


def prepare_run_staging(
    cursor: Any,
    bases: list[str],
    run_id: str,
    retention_hours: float,
    active_runs: Callable[[list[str]], Iterable[str]] | None = None,
) -> list[str]:
    """Drop expired run tables, then create (if missing), register and mark as used this run's tables.

    `active_runs(run_ids)` returns those of `run_ids` whose DAG run is still queued or running;
    their tables are kept however old they are. It may raise, and then nothing is dropped.
    """
    hours = parse_retention_hours(retention_hours)
    now = _utc_now()
    # This run uses its tables now (again, when a cleared run is executed anew): refresh their last use
    # first, so that no other run's clean-up below can take them.
    cursor.execute(
        f"UPDATE {REGISTRY} SET created_at = %(now)s WHERE run_id = %(run_id)s", {"now": now, "run_id": run_id}
    )
    cursor.execute(
        f"SELECT table_name, run_id FROM {REGISTRY} WHERE run_id <> %(run_id)s AND created_at < %(cutoff)s",
        {"run_id": run_id, "cutoff": now - timedelta(hours=hours)},
    )
    expired = cursor.fetchall()
    still_active = set(active_runs(sorted({owner for _, owner in expired}))) if expired and active_runs else set()
    for name, owner in expired:
        if owner in still_active:
            log.info("Keeping %s: its run %s is still queued or running.", name, owner)
            continue
        cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
        cursor.execute(f"DELETE FROM {REGISTRY} WHERE table_name = %(name)s", {"name": name})
    names = []
    for base in bases:
        name = run_scoped(base, run_id)
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(name)} (LIKE {quote_identifier(base)} INCLUDING DEFAULTS)"
        )
        cursor.execute(
            f"INSERT INTO {REGISTRY} (table_name, run_id, created_at) "
            f"SELECT CAST(%(name)s AS VARCHAR(128)), CAST(%(run_id)s AS VARCHAR(256)), %(now)s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {REGISTRY} WHERE table_name = CAST(%(name)s AS VARCHAR(128)))",
            {"name": name, "run_id": run_id, "now": now},
        )
        names.append(name)
    return names


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
