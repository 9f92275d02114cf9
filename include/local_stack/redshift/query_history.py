"""Redshift's query history (stl_query, sys_query_history): one row per statement a client sent.

A statement costs the client's path one append to an in-memory buffer. A background thread writes
the buffer to `stl_emulator_query_history` in batches (redacted, with query ids from
`stl_query_id_seq`), and keeps the newest `KEEP_ROWS` rows. A statement that reads the history
flushes it first (`mentions_history` + `flush`), so it sees every statement sent before it (in a
transaction block whose snapshot is older, through the session's log overlay: catalog.sql).
A COPY's row carries the COPY's own query id (the one in stl_load_errors and pg_last_copy_id()):
the session stashes the COPY's text (`stash_copy`) and the COPY runner records it (`record_copy`).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, NamedTuple

from local_stack.redshift.redaction import redact

if TYPE_CHECKING:
    from local_stack.redshift.server import EmulatorConfig

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.5  # the longest a statement waits in memory
BATCH_ROWS = 500  # a buffer this long is written at once
BUFFER_LIMIT = 100_000  # statements kept in memory while the database cannot be reached
KEEP_ROWS = 10_000  # rows kept in each database's history
TEXT_LIMIT = 4000  # stl_query.querytxt is character(4000)
_INSERT = (
    "INSERT INTO stl_emulator_query_history (query, userid, pid, database, querytxt, starttime) "
    "SELECT t.query, COALESCE(r.oid::integer, (SELECT a.usesysid::integer FROM pg_stat_activity a "
    "WHERE a.pid = t.pid LIMIT 1)), t.pid, current_database(), t.txt, t.started "
    "FROM unnest(%s::integer[], %s::text[], %s::integer[], %s::text[], %s::timestamp[]) "
    "AS t(query, usr, pid, txt, started) LEFT JOIN pg_roles r ON r.rolname = t.usr "
    "ON CONFLICT (query) DO NOTHING"
)
_TRIM = (
    "DELETE FROM stl_emulator_query_history WHERE query < "
    "(SELECT query FROM stl_emulator_query_history ORDER BY query DESC OFFSET %s LIMIT 1)"
)


class Statement(NamedTuple):  # a tuple: the cheapest record to make in the client's path
    database: str
    pid: int
    user: str | None
    sql: str
    started: float  # time.time()
    query: int | None = None  # a COPY's own query id; the others get theirs when written


@dataclass
class QueryHistory:
    """The statements of one emulator process not yet written, and the thread that writes them."""

    config: EmulatorConfig
    buffer: deque[Statement] = field(default_factory=lambda: deque(maxlen=BUFFER_LIMIT))
    copies: dict[tuple[str, int], tuple[str, float]] = field(default_factory=dict)
    wake: threading.Event = field(default_factory=threading.Event)
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    def add(self, statement: Statement) -> None:
        self.buffer.append(statement)
        if self.thread is None:
            self._start()
        if len(self.buffer) >= BATCH_ROWS:
            self.wake.set()

    def flush(self) -> None:
        """Write every statement recorded so far; returns when they are committed."""
        with self.write_lock:
            batch: list[Statement] = []
            while self.buffer:
                batch.append(self.buffer.popleft())
            by_database: dict[str, list[Statement]] = {}
            for statement in batch:
                by_database.setdefault(statement.database, []).append(statement)
            for database, statements in by_database.items():
                try:
                    _write(self.config, database, statements)
                except Exception:  # a dropped database, a stopped server: the history is lost, not the session
                    log.debug("could not write %d statements of %s", len(statements), database, exc_info=True)

    def _start(self) -> None:
        with _histories_lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="query-history", daemon=True)
                self.thread.start()
                atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self.wake.wait(FLUSH_SECONDS)
            self.wake.clear()
            if self.buffer:
                self.flush()


_histories: dict[int, QueryHistory] = {}
_histories_lock = threading.Lock()


def history(config: EmulatorConfig) -> QueryHistory:
    """The query history of the emulator that `config` describes (one per config, which lives as long as the
    process)."""
    found = _histories.get(id(config))
    if found is None:
        with _histories_lock:
            found = _histories.setdefault(id(config), QueryHistory(config))
    return found


def record(config: EmulatorConfig, database: str, pid: int, user: str | None, sql: str) -> None:
    """Note a statement a client sent (no I/O: it is written later, in a batch)."""
    history(config).add(Statement(database, pid, user, sql, time.time()))


def stash_copy(config: EmulatorConfig, database: str, pid: int, sql: str) -> None:
    """Keep a COPY's text until its runner knows its query id (`record_copy`)."""
    history(config).copies[(database, pid)] = (sql, time.time())


def record_copy(config: EmulatorConfig, database: str, pid: int, user: str | None, query: int, fallback: str) -> None:
    """The row of the COPY with query id `query`: the text stashed for the session, else `fallback`."""
    sql, started = history(config).copies.pop((database, pid), (fallback, time.time()))
    history(config).add(Statement(database, pid, user, sql, started, query))


def mentions_history(sql: str) -> bool:
    """Whether `sql` may read stl_query or sys_query_history (then `flush` before it runs)."""
    lowered = sql.lower()
    return "stl_query" in lowered or "sys_query_history" in lowered


def flush(config: EmulatorConfig) -> None:
    """Write the statements recorded so far, so that a query of the history sees them."""
    history(config).flush()


def _write(config: EmulatorConfig, database: str, statements: list[Statement]) -> None:
    from local_stack.redshift.catalog import side_connection

    with side_connection(config, database) as conn:
        missing = sum(s.query is None for s in statements)
        fresh = iter(
            sorted(
                row[0]
                for row in conn.execute(
                    "SELECT nextval('stl_query_id_seq')::integer FROM generate_series(1, %s)", (missing,)
                )
            )
        )
        ids = [s.query if s.query is not None else next(fresh) for s in statements]
        conn.execute(
            _INSERT,
            (
                ids,
                [s.user for s in statements],
                [s.pid for s in statements],
                [redact(s.sql).strip()[:TEXT_LIMIT].replace("\0", " ") for s in statements],
                [datetime.fromtimestamp(s.started, timezone.utc).replace(tzinfo=None) for s in statements],
            ),
        )
        conn.execute(_TRIM, (KEEP_ROWS - 1,))
