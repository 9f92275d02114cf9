"""`make bench BENCH_ONLY=dialect`: what the emulator's Redshift dialect layer costs per statement.

The statements are the project's own: one hourly run of sparkify_etl (create_tables, both stage
tasks, the fact, the four dimensions, the quality checks and publish, executed as in
bench/pipeline.py) on a private stack with a small generated day. They are recorded as the
driver (redshift_connector) puts them on the wire, Query and Parse messages, so each is the exact
text the emulator translates, after the driver's own rewriting (`%(name)s` to `$1`) and with the
driver's set-up statements. The COPYs from S3, which the emulator runs itself and never
translates, are left out. The emulator's statement log of the same run is counted as a check
that nothing went past the recorder (the log cuts a statement at 2,000 characters, so it is not
the source).

Each statement is then translated (`local_stack.redshift.dialect.translate`, the call the
emulator makes for every client statement, its cheap gate `needs_translation` included) `rounds`
times, all statements in turn per round so that drift falls on all alike. A statement's cost is
the median of its samples; the section reports the median, the 95th percentile and the maximum
of those costs, their sum (what the layer adds to one hourly run), and the share of statements
the gate sends on without lexing.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.backfill import load_average
from bench.stack import BUCKET, REGION, PrivateStack

# A small day: the statements do not depend on how many rows they move.
EVENTS = 2_000
SONGS = 40
# The emulator's statement log: "<date> <time>,<ms> pid=<n> <statement>", a statement's further lines below it.
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} pid=\d+ ", re.MULTILINE)
_COPY_RUN = re.compile(r"^COPY \S+ FROM s3://")  # a COPY the emulator ran (logged as table and source)
TARGET_MS = 1.0
Progress = Callable[[str], None]


def parse_statement_log(text: str) -> list[str]:
    """The statements in a piece of the emulator's statement log, without the COPYs from S3 it ran."""
    records = list(_RECORD.finditer(text))
    ends = [record.start() for record in records[1:]] + [len(text)]  # with no record, zip stops at once
    statements = (text[record.end() : end].strip() for record, end in zip(records, ends))
    return [s for s in statements if s and not _COPY_RUN.match(s)]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def capture(stack: PrivateStack, progress: Progress) -> tuple[list[str], int]:
    """Run one hourly run of the DAG's warehouse tasks on `stack`: the statements the emulator translated,
    and how many statements its log holds for the run (the same number when the recorder saw them all)."""
    from bench import workload
    from bench.pipeline import DagRun, variables
    from local_stack.redshift.statements import parse_copy
    from local_stack.schema import reset_schema

    data = workload.build(EVENTS, SONGS)
    workload.upload(
        stack.s3_client(),
        BUCKET,
        {workload.JSONPATHS_KEY: data.jsonpaths, workload.DAY_FILE: data.events, **data.songs},
        REGION,
    )
    os.environ.update(variables(log_prefix="log_data/"))
    with stack.connect() as conn:
        reset_schema(conn)
    dag_run = DagRun()
    since = stack.statement_log_size()
    order = [
        dag_run.stage_task("staging_events"),
        dag_run.stage_task("staging_songs"),
        *dag_run.tasks_of_type("LoadFactOperator"),
        *dag_run.dimension_tasks,
        *dag_run.tasks_of_type("DataQualityOperator"),
        *dag_run.tasks_of_type("PublishOperator"),
    ]
    sent: list[str] = []
    with _recording(sent):
        dag_run.prepare()
        for task_id in order:
            dag_run.execute(task_id)
    progress(f"dialect: ran create_tables, {', '.join(order)}")
    statements = [sql for sql in sent if parse_copy(sql) is None]
    return statements, len(_logged_since(stack.warehouse.statement_log, since))


@contextmanager
def _recording(sent: list[str]) -> Iterator[None]:
    """Append the text of every Query and Parse message redshift_connector sends to `sent`."""
    from redshift_connector.core import Connection

    original = Connection._send_message

    def send(self, code: bytes, data: bytes) -> None:
        if code == b"Q":
            sent.append(data.rstrip(b"\0").decode())
        elif code == b"P":  # the statement's name, then its text, each ending in a NUL
            sent.append(data.split(b"\0", 2)[1].decode())
        original(self, code, data)

    Connection._send_message = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        Connection._send_message = original  # type: ignore[method-assign]


def _logged_since(log: Path, offset: int) -> list[str]:
    with open(log, "rb") as handle:
        handle.seek(offset)
        return parse_statement_log(handle.read().decode("utf-8", "replace"))


def measure(statements: list[str], rounds: int) -> dict[str, Any]:
    """Translate every statement `rounds` times, interleaved; each statement's median cost in ms."""
    from local_stack.redshift.dialect import needs_translation, translate
    from local_stack.redshift.sql_tokens import StatementError

    def translated(sql: str) -> bool | None:
        try:
            return translate(sql) is not None
        except StatementError:
            return None  # refused: the statement fails on the emulator as on Redshift

    outcome = [translated(sql) for sql in statements]
    samples: list[list[float]] = [[] for _ in statements]
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for n, sql in enumerate(statements):
            began = clock()
            try:
                translate(sql)
            except StatementError:
                pass
            samples[n].append((clock() - began) / 1e6)
    costs = [statistics.median(s) for s in samples]
    gated = [not needs_translation(sql) for sql in statements]
    lexed = [c for c, g in zip(costs, gated, strict=True) if not g]
    slowest = sorted(range(len(statements)), key=costs.__getitem__, reverse=True)[:5]
    return {
        "statements": len(statements),
        "rounds": rounds,
        "median_ms": round(statistics.median(costs), 4),
        "p95_ms": round(percentile(costs, 0.95), 4),
        "max_ms": round(max(costs), 4),
        "run_total_ms": round(sum(costs), 3),  # the layer's cost over the whole hourly run
        "gate_share": round(sum(gated) / len(statements), 4),
        "gated": sum(gated),
        "lexed": len(lexed),
        "lexed_median_ms": round(statistics.median(lexed), 4) if lexed else None,
        "rewritten": sum(o is True for o in outcome),
        "refused": sum(o is None for o in outcome),
        "bytes_median": int(statistics.median(len(s) for s in statements)),
        "slowest": [
            {"ms": round(costs[n], 4), "bytes": len(statements[n]), "gated": gated[n], "start": _head(statements[n])}
            for n in slowest
        ],
        "_costs": costs,
    }


def _head(sql: str) -> str:
    return " ".join(sql.split())[:70]


def run(rounds: int, progress: Progress) -> dict[str, Any]:
    """Capture one hourly run's statements on a private stack, then time their translation."""
    with PrivateStack() as stack:
        progress("dialect: one hourly run of sparkify_etl on a private stack, recording the statements it sends")
        postgresql = stack.postgres_version()
        statements, logged = capture(stack, progress)
    if not statements:
        raise RuntimeError("No statement of the hourly run was recorded")
    if logged != len(statements):
        raise RuntimeError(f"{len(statements)} statements recorded, but the emulator logged {logged} (COPYs aside)")
    progress(f"dialect: translating {len(statements)} statements, {rounds} rounds ...")
    result = measure(statements, rounds)
    result["load_average"] = load_average()
    result.update(target_ms=TARGET_MS, logged=logged, postgresql=postgresql)
    return result
