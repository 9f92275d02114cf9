"""Run-scoped staging and shadow tables, so that concurrent runs and backfills never share staged rows.

Each DAG run stages into its own copies of the staging tables, named after the run, and registers
them in `staging_tables`. Its teardown task drops them when the run ends, successful or not; the
tables of a failed run (or of every run) are kept for inspection only when the Variable
`sparkify_keep_run_tables` asks for it, and then for at most KEPT_RUNS_LIMIT runs and the retention.
Leftovers (a crashed run, a kept run) are dropped once unused for longer than the retention, and only
when their run is no longer queued or running: the registry's `created_at` is the tables' last use,
refreshed each time their run (re)creates them, for example when an old run is cleared.

Every transaction that reads or changes the registry takes `LOCK TABLE staging_tables` first, so a
run's registration, its teardown and another run's clean-up happen one after the other: a clean-up
never decides on a run's tables while that run is (re)registering them.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from sparkify.ddl import absent_tables
from sparkify.identifiers import quote_identifier, validate_identifier

REGISTRY = "staging_tables"
KEPT_RUNS = "kept_failed_runs"  # runs whose tables their teardown kept for inspection
KEPT_RUNS_LIMIT = 10  # at most this many kept runs (80 tables), the most recently ended ones
KEEP_VARIABLE = "sparkify_keep_run_tables"
KEEP_MODES = ("none", "failed", "all")  # whose tables a run's teardown keeps; default none
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
            f"tables left after it ended (kept for inspection, or a crashed run's) are dropped this long after "
            f"their last use."
        )
    return hours


def parse_keep_mode(value: Any) -> str:
    """Whose run tables the teardown keeps: `none` (default), `failed` or `all`; else StagingSettingError."""
    mode = {"": "none", "false": "none", "off": "none", "true": "failed", "on": "failed"}.get(
        str(value).strip().lower(), str(value).strip().lower()
    )
    if value is None or isinstance(value, bool) or mode not in KEEP_MODES:
        raise StagingSettingError(
            f"Airflow Variable {KEEP_VARIABLE}={value!r} is not a keep mode: give none (the default: a run's "
            f"teardown drops its tables), failed (keep a failed run's tables) or all (keep every run's), each kept "
            f"for at most {KEPT_RUNS_LIMIT} runs and {RETENTION_VARIABLE} hours."
        )
    return mode


def lock_registry(cursor: Any) -> None:
    """Serialize with every other transaction on the registry until this one ends.

    Redshift's LOCK takes an ACCESS EXCLUSIVE lock held to the end of the transaction
    (https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html). It comes first, before any table of
    the star schema is read, so it adds no cycle to the warehouse's lock order.
    """
    cursor.execute(f"LOCK TABLE {REGISTRY}")


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
    on_missing: Callable[[list[str]], None] | None = None,
) -> list[str]:
    """Under the registry's lock: drop expired run tables, then create (if missing), register and mark as
    used this run's tables.

    `active_runs(run_ids)` returns those of `run_ids` whose DAG run is still queued or running;
    their tables are kept however old they are. It may raise, and then nothing is dropped.
    `on_missing(names)` is told which of this run's tables do not exist yet, before they are created;
    it may raise (a cleared task whose inputs its run's teardown dropped), and then nothing changes.
    """
    hours = parse_retention_hours(retention_hours)
    lock_registry(cursor)
    now = _utc_now()
    # This run runs again: its tables are no longer kept for inspection, they are in use.
    cursor.execute(f"DELETE FROM {KEPT_RUNS} WHERE run_id = %(run_id)s", {"run_id": run_id})
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
    _drop(cursor, [name for name, owner in expired if owner not in still_active])
    _forget_kept_runs_without_tables(cursor)
    if on_missing:
        missing = absent_tables(cursor, [run_scoped(base, run_id) for base in bases])
        if missing:
            on_missing(missing)
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


def teardown_run_staging(
    cursor: Any,
    bases: list[str],
    run_id: str,
    keep: bool,
    active_runs: Callable[[list[str]], Iterable[str]] | None = None,
    limit: int = KEPT_RUNS_LIMIT,
) -> dict[str, list[str]]:
    """At the end of run_id: drop its tables, or keep them (`keep`) and drop the oldest kept runs' beyond `limit`.

    Returns {"dropped": [...], "kept": [...]} table names. Kept runs still queued or running are never dropped.
    """
    lock_registry(cursor)
    cursor.execute(f"SELECT table_name FROM {REGISTRY} WHERE run_id = %(run_id)s", {"run_id": run_id})
    own = sorted({name for (name,) in cursor.fetchall()} | {run_scoped(base, run_id) for base in bases})
    if not keep:
        _drop(cursor, own)
        cursor.execute(f"DELETE FROM {KEPT_RUNS} WHERE run_id = %(run_id)s", {"run_id": run_id})
        return {"dropped": own, "kept": []}
    cursor.execute(f"DELETE FROM {KEPT_RUNS} WHERE run_id = %(run_id)s", {"run_id": run_id})
    cursor.execute(
        f"INSERT INTO {KEPT_RUNS} (run_id, kept_at) VALUES (%(run_id)s, %(now)s)", {"run_id": run_id, "now": _utc_now()}
    )
    cursor.execute(f"SELECT run_id FROM {KEPT_RUNS} ORDER BY kept_at DESC, run_id")
    beyond = [owner for (owner,) in cursor.fetchall()][max(limit, 1) :]
    still_active = set(active_runs(beyond)) if beyond and active_runs else set()
    dropped = []
    for owner in beyond:
        if owner in still_active:
            continue
        cursor.execute(f"SELECT table_name FROM {REGISTRY} WHERE run_id = %(run_id)s", {"run_id": owner})
        names = [name for (name,) in cursor.fetchall()]
        _drop(cursor, names)
        dropped.extend(names)
        cursor.execute(f"DELETE FROM {KEPT_RUNS} WHERE run_id = %(run_id)s", {"run_id": owner})
        log.info("Dropped the kept tables of run %s: more than %d runs' tables were kept.", owner, limit)
    return {"dropped": dropped, "kept": own}


DROP_BATCH = 100  # tables per DROP TABLE (after a long pause, the expired ones may be thousands)


def _drop(cursor: Any, names: list[str]) -> None:
    """Drop run tables and forget them in the registry: three statements a batch, whatever its size.

    Redshift's DROP TABLE takes a list (https://docs.aws.amazon.com/redshift/latest/dg/r_DROP_TABLE.html), but
    its page does not say what IF EXISTS does when only some of the names exist: the names that exist are
    looked up first and dropped without IF EXISTS, so a table that cannot be dropped fails loudly."""
    for start in range(0, len(names), DROP_BATCH):
        batch = names[start : start + DROP_BATCH]
        missing = set(absent_tables(cursor, batch))
        present = [name for name in batch if name not in missing]
        if present:
            cursor.execute("DROP TABLE " + ", ".join(quote_identifier(name) for name in present))
        placeholders = ", ".join(f"%(name{i})s" for i in range(len(batch)))
        cursor.execute(
            f"DELETE FROM {REGISTRY} WHERE table_name IN ({placeholders})", {f"name{i}": n for i, n in enumerate(batch)}
        )


def _forget_kept_runs_without_tables(cursor: Any) -> None:
    cursor.execute(
        f"DELETE FROM {KEPT_RUNS} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {REGISTRY} WHERE {REGISTRY}.run_id = {KEPT_RUNS}.run_id)"
    )


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
