"""Redshift's isolation: every client transaction is SERIALIZABLE, and a failure to serialize is error 1023.

- Client sessions start with `default_transaction_isolation=serializable` in their backend's start-up
  packet (overriding the client's own; `SPARKIFY_REDSHIFT_SERIALIZABLE=off` is a switch for diagnosis
  only); the emulator's side connections (catalog, query history, load errors) keep PostgreSQL's READ
  COMMITTED, as Redshift's system tables are not locked in a transaction. A serializable transaction
  still sees what its own session logged there since it began: the log overlay (catalog.sql).
- A client cannot lower it: Redshift accepts `READ UNCOMMITTED`, `READ COMMITTED` and `REPEATABLE READ`
  and runs them as SERIALIZABLE (`BEGIN`, `START TRANSACTION`, `SET TRANSACTION`, `SET SESSION
  CHARACTERISTICS`, and a `SET` of either isolation parameter are rewritten to `serializable`).
- PostgreSQL's serialization failure (SQLSTATE 40001) reaches the client as Redshift reports it:
  `1023`, SQLSTATE XX000, detail `Serializable isolation violation on table - <table id>, transactions
  forming the cycle are: ...`. PostgreSQL does not say which table; the table named is the last one
  the failed transaction wrote (else read), as the session saw its statements.
  https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation.html
  https://docs.aws.amazon.com/redshift/latest/dg/r_BEGIN.html
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable

from local_stack.redshift import wire

# On by default. `SPARKIFY_REDSHIFT_SERIALIZABLE=off` leaves PostgreSQL's READ COMMITTED: a switch for
# diagnosis only (is a failure the isolation's?); no test and no make target turns it off.
SERIALIZABLE_SETTING = "SPARKIFY_REDSHIFT_SERIALIZABLE"


def startup_parameters() -> dict[str, str]:
    """What a client session's backend start-up packet sets, overriding the client's own."""
    if os.environ.get(SERIALIZABLE_SETTING, "on").strip().lower() in ("off", "false", "0"):
        return {}
    return {"default_transaction_isolation": "serializable"}


SERIALIZATION_FAILURE = "40001"  # PostgreSQL's; a deadlock (40P01) is reported by Redshift as PostgreSQL does
DEADLOCK = "40P01"
REDSHIFT_SQLSTATE = "XX000"
REDSHIFT_CODE = "1023"

_LEVEL = re.compile(r"\bISOLATION\s+LEVEL\s+(?:READ\s+UNCOMMITTED|READ\s+COMMITTED|REPEATABLE\s+READ)\b", re.I)
_SET_PARAMETER = re.compile(
    r"^(\s*SET\s+(?:SESSION\s+|LOCAL\s+)?(?:default_)?transaction_isolation\s*(?:TO|=)\s*)"
    r"(?:'[^']*'|[\w ]+?)(\s*;?\s*)$",
    re.I,
)
_TRANSACTION_STATEMENT = re.compile(r"^\s*(?:BEGIN|START|SET)\b", re.I)
# Tables a statement names: written after INTO/UPDATE/DELETE FROM/TRUNCATE/LOCK, read after FROM/JOIN/USING.
_WRITTEN = re.compile(
    r"\b(?:INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|LOCK(?:\s+TABLE)?)\s+((?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)",
    re.I,
)
_READ = re.compile(r"\b(?:FROM|JOIN|USING)\s+((?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)", re.I)
_NOT_TABLES = frozenset({"select", "lateral", "only", "unnest", "generate_series", "stdin", "table"})


def serializable_only(sql: str) -> str | None:
    """`sql` with any weaker isolation level made SERIALIZABLE (None: unchanged), for the transaction
    statements that set one; other statements are left to the dialect."""
    if not _TRANSACTION_STATEMENT.match(sql) or "isolation" not in sql.lower():
        return None
    rewritten = _SET_PARAMETER.sub(r"\1'serializable'\2", sql)
    rewritten = _LEVEL.sub("ISOLATION LEVEL SERIALIZABLE", rewritten)
    return rewritten if rewritten != sql else None


class TransactionTables:
    """The tables the statements of a session's current transaction name, to name one in a 1023 error."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.written: list[str] = []
        self.read: list[str] = []

    def note(self, sql: str) -> None:
        written = [_unquoted(m) for m in _WRITTEN.findall(sql)]
        read = [_unquoted(m) for m in _READ.findall(sql)]
        with self.lock:
            self.written += [t for t in written if t.lower() not in _NOT_TABLES]
            self.read += [t for t in read if t.lower() not in _NOT_TABLES]

    def reset(self) -> None:
        """The transaction ended (the backend is idle)."""
        with self.lock:
            self.written, self.read = [], []

    def culprit(self) -> str | None:
        with self.lock:
            tables = self.written or self.read
            return tables[-1] if tables else None


def redshift_error(payload: bytes, table_id: int, backend_pid: int) -> bytes:
    """The ErrorResponse body Redshift sends for PostgreSQL's serialization failure `payload`."""
    fields = wire.error_fields(payload)
    xids = re.findall(r"\b\d{3,}\b", fields.get("D", ""))  # PostgreSQL names a pivot's xid in some reason codes
    cycle = ", ".join(xids)
    detail = (
        f"Serializable isolation violation on table - {table_id}, transactions forming the cycle are: "
        f"{cycle}{' ' if cycle else ''}(pid:{backend_pid});"
    )
    return wire.error_response(REDSHIFT_CODE, REDSHIFT_SQLSTATE, detail=detail)[5:]


def is_deadlock(payload: bytes) -> bool:
    """Whether backend ErrorResponse `payload` is PostgreSQL's deadlock error (SQLSTATE 40P01)."""
    return b"C" + DEADLOCK.encode() + b"\0" in payload


def translated_error(
    payload: bytes, tables: TransactionTables, backend_pid: int, table_id: Callable[[str], int | None]
) -> bytes | None:
    """Redshift's error for backend ErrorResponse `payload`, or None if it is not a serialization failure."""
    if b"C" + SERIALIZATION_FAILURE.encode() + b"\0" not in payload:
        return None
    culprit = tables.culprit()
    oid = table_id(culprit) if culprit else None
    return redshift_error(payload, oid or 0, backend_pid)


def _unquoted(name: str) -> str:
    return name if '"' in name else name.lower()
