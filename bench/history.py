"""The hourly run's steps (fact, dimensions, quality checks, publish) against the size of the history: a curve.

For each size (0 is the empty warehouse, the baseline), the history is bulk-loaded with SQL
(`generate_series`), not through the DAG: songplays spread evenly over 2018-11-01 up to the
benchmark's hour, a `time` row for each of them, a user for every id the generator can draw, and the
staged song catalogue in `songs` and `artists` (merged by the DAG's own dimension tasks). Staging
holds the same day file and catalogue at every size. The steps are the DAG's tasks, run one after
another; at every size one untimed run comes first (the process's imports and connections, the
caches), and the load's writes are flushed to disk before it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial

from bench.pipeline import WINDOW, DagRun
from bench.stack import PrivateStack
from bench.timing import Measurement

STAR_TABLES = ("songplays", "users", "songs", "artists", "time")
_WINDOW_BOUNDS = {
    "start": datetime.fromisoformat(WINDOW[0]).replace(tzinfo=None),
    "end": datetime.fromisoformat(WINDOW[1]).replace(tzinfo=None),
}
HISTORY_START = datetime(2018, 11, 1)
_LOCATIONS = [
    "San Francisco-Oakland-Hayward, CA",
    "Chicago-Naperville-Elgin, IL-IN-WI",
    "New York-Newark-Jersey City, NY-NJ-PA",
    "Atlanta-Sandy Springs-Roswell, GA",
    "Lansing-East Lansing, MI",
    "Tampa-St. Petersburg-Clearwater, FL",
    "Houston-The Woodlands-Sugar Land, TX",
    "Portland-South Portland, ME",
]
_AGENTS = [
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36"',
]
# Row n of the history: a start time on an even grid (distinct to the millisecond), a user
# drawn from the generator's id range, ~70% of plays matched to the catalogue.
_SONGPLAYS_SQL = """
INSERT INTO songplays (songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent)
SELECT MD5('history-' || g::text),
       %(start)s::TIMESTAMP + ((g * %(span_ms)s::BIGINT) / %(rows)s::BIGINT) * INTERVAL '1 millisecond',
       2 + (g * 2654435761) %% %(user_ids)s::BIGINT,
       CASE WHEN g %% 10 < 3 THEN 'paid' ELSE 'free' END,
       c.song_id, c.artist_id,
       (g / 20)::INTEGER,
       (%(locations)s::TEXT[])[1 + g %% %(n_locations)s::INTEGER],
       (%(agents)s::TEXT[])[1 + g %% %(n_agents)s::INTEGER]
FROM generate_series(0::BIGINT, %(rows)s::BIGINT - 1) AS g
LEFT JOIN bench_catalogue c ON c.n = (g * 7919) %% %(catalogue_span)s::BIGINT
"""
_TIME_SQL = """
INSERT INTO time (start_time, hour, day, week, month, year, weekday)
SELECT start_time, EXTRACT(HOUR FROM start_time), EXTRACT(DAY FROM start_time), EXTRACT(WEEK FROM start_time),
       EXTRACT(MONTH FROM start_time), EXTRACT(YEAR FROM start_time), EXTRACT(DOW FROM start_time)
FROM songplays
"""
_USERS_SQL = """
INSERT INTO users (user_id, first_name, last_name, gender, level)
SELECT u, 'User' || u::text, 'Lastname' || (u %% 97)::text, CASE WHEN u %% 2 = 0 THEN 'F' ELSE 'M' END,
       CASE WHEN u %% 10 < 3 THEN 'paid' ELSE 'free' END
FROM generate_series(2, 1 + %(user_ids)s::INTEGER) AS u
"""


def _steps(dag_run: DagRun) -> dict[str, list[str]]:
    return {
        "fact": dag_run.tasks_of_type("LoadFactOperator"),
        "dimensions": dag_run.dimension_tasks,
        "quality": dag_run.tasks_of_type("DataQualityOperator"),
        "publish": dag_run.tasks_of_type("PublishOperator"),  # the star schema changes only here (WAP)
    }


def _emptied_tables(dag_run: DagRun) -> list[str]:
    """The star schema, and the song-file ledger if the DAG keeps one: an empty warehouse has neither."""
    steps = _steps(dag_run)
    tables = [dag_run.task(t).table for t in steps["fact"] + steps["dimensions"]]  # this run's shadows
    ledgers = [dag_run.task(t).ledger_table for t in dag_run.tasks_of_type("SelectNewObjectsOperator")]
    return [*dict.fromkeys([*tables, *STAR_TABLES, *ledgers])]


def empty_warehouse(stack: PrivateStack, dag_run: DagRun) -> None:
    with stack.connect() as conn:
        conn.execute(f"TRUNCATE {', '.join(_emptied_tables(dag_run))}")
    stack.checkpoint()


def load_history(stack: PrivateStack, dag_run: DagRun, rows: int, generator_users: int) -> float:
    """Fill the warehouse with `rows` songplays before the window; returns the seconds it took."""
    began = time.perf_counter()
    user_ids = 4 * generator_users  # the generator draws user ids from [2, 2 + 4 * users)
    span_ms = int((_WINDOW_BOUNDS["start"] - HISTORY_START).total_seconds() * 1000)
    if rows > span_ms:
        raise ValueError(f"{rows} songplays do not fit in {span_ms} distinct milliseconds")
    empty_warehouse(stack, dag_run)
    for task_id in dag_run.dimension_tasks:  # the catalogue, as the DAG merges it
        if dag_run.task(task_id).table.startswith(("songs", "artists")):
            dag_run.execute(task_id)
    for task_id in _steps(dag_run)["publish"]:  # and publishes it
        dag_run.execute(task_id)
    with stack.connect_backend() as conn, conn.cursor() as cursor:  # PostgreSQL's SQL: a fixture, not the pipeline
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(_USERS_SQL, {"user_ids": user_ids})
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_catalogue AS "
            "SELECT (ROW_NUMBER() OVER (ORDER BY song_id) - 1) AS n, song_id, artist_id FROM songs"
        )
        catalogue = cursor.execute("SELECT COUNT(*) FROM bench_catalogue").fetchone()[0]
        with _indexes_dropped(cursor, "songplays"):
            cursor.execute(
                _SONGPLAYS_SQL,
                {
                    "start": HISTORY_START,
                    "span_ms": span_ms,
                    "rows": rows,
                    "user_ids": user_ids,
                    "locations": _LOCATIONS,
                    "n_locations": len(_LOCATIONS),
                    "agents": _AGENTS,
                    "n_agents": len(_AGENTS),
                    "catalogue_span": max(1, round(catalogue / 0.7)),
                },
            )
        with _indexes_dropped(cursor, "time"):
            cursor.execute(_TIME_SQL)
        cursor.execute("DROP TABLE bench_catalogue")
        for table in STAR_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("CHECKPOINT")
    os.sync()  # else the kernel writes the load's pages back during the first measured hours
    return time.perf_counter() - began


@contextmanager
def _indexes_dropped(cursor, table: str):
    """Drop the table's primary key and indexes for a bulk insert, then build them again."""
    constraints = cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u')",
        (table,),
    ).fetchall()
    owned = {name for name, _ in constraints}
    indexes = [
        (name, definition)
        for name, definition in cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
            (table,),
        ).fetchall()
        if name not in owned
    ]
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    for name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        cursor.execute(definition)


def _forget_window(stack: PrivateStack) -> None:
    """Remove what a previous repetition loaded for the window, so every repetition starts alike."""
    with stack.connect() as conn:
        for table in ("songplays", "time"):
            conn.execute(f"DELETE FROM {table} WHERE start_time >= %(start)s AND start_time < %(end)s", _WINDOW_BOUNDS)
    stack.checkpoint()


def _hourly_steps(
    dag_run: DagRun, repeat: int, reset: Callable[[], None], label: str, progress
) -> dict[str, Measurement]:
    steps = _steps(dag_run)
    results = {name: Measurement() for name in (*steps, "total")}
    for round_number in range(1, repeat + 1):
        reset()
        total = 0.0
        for name, task_ids in steps.items():
            began = time.perf_counter()
            for task_id in task_ids:
                dag_run.execute(task_id)
            elapsed = time.perf_counter() - began
            results[name].samples.append(elapsed)
            total += elapsed
        results["total"].samples.append(total)
        progress(
            f"  hourly run, {label:>12} songplays, round {round_number}/{repeat}: {total:8.3f} s ("
            + ", ".join(f"{name} {results[name].samples[-1]:.3f}" for name in steps)
            + ")"
        )
    return results


def run(
    stack: PrivateStack, dag_run: DagRun, sizes: Sequence[int], generator_users: int, repeat: int, progress
) -> dict:
    """Time the steps after staging at each history size (ascending; 0 is the empty warehouse, reset before
    every round): the hour's cost against the history."""
    sizes = sorted({0, *sizes})
    progress(
        f"hourly run: window {WINDOW[0]} to {WINDOW[1]}, history of {', '.join(f'{n:,}' for n in sizes)} songplays"
    )
    with stack.connect() as conn:  # else autovacuum analyzes them at a random moment between the sizes
        for base in ("staging_events", "staging_songs"):
            conn.execute(f"ANALYZE {dag_run.task(dag_run.stage_task(base)).table}")
    curve, measurements = [], {}
    for size in sizes:
        point: dict = {"songplays": size, "history_load_seconds": 0.0}
        if size:
            progress(f"  bulk-loading {size:,} songplays of history ...")
            point["history_load_seconds"] = round(load_history(stack, dag_run, size, generator_users), 1)
            progress(f"  history loaded in {point['history_load_seconds']:.1f} s")
        # The empty warehouse is emptied before every round; a history loses only what a round added.
        reset = partial(_forget_window, stack) if size else partial(empty_warehouse, stack, dag_run)
        _hourly_steps(dag_run, 1, reset, "warm-up", lambda _message: None)  # untimed, at every size alike
        measured = _hourly_steps(dag_run, repeat, reset, f"{size:,}", progress)
        with stack.connect() as conn:
            point["table_rows_after"] = {
                t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in STAR_TABLES
            }
            point["window_songplays"] = conn.execute(
                "SELECT COUNT(*) FROM songplays WHERE start_time >= %(start)s AND start_time < %(end)s", _WINDOW_BOUNDS
            ).fetchone()[0]
        point["steps"] = {name: m.as_dict() for name, m in measured.items()}
        curve.append(point)
        measurements[size] = measured
    return {"window": list(WINDOW), "steps": _steps(dag_run), "curve": curve, "_measurements": measurements}
