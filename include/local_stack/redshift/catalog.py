"""Redshift's system objects that the emulator keeps in PostgreSQL, and the side connection that writes them."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from local_stack.redshift.s3copy.command import CopyCommand
    from local_stack.redshift.s3copy.errors import LoadError
    from local_stack.redshift.server import EmulatorConfig

CATALOG_SQL = (Path(__file__).with_name("catalog.sql")).read_text()
_bootstrapped: set[str] = set()
_bootstrap_lock = threading.Lock()
_INSERT_ERROR = (
    "INSERT INTO stl_load_errors (userid, slice, tbl, starttime, session, query, filename, line_number, "
    "colname, type, col_length, position, raw_line, raw_field_value, err_code, err_reason, is_partial, "
    "start_offset) VALUES (100, 0, to_regclass(%s)::oid::integer, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s, %s, %s, %s, 0, 0)"
)
# Redshift's error codes (STL_LOAD_ERRORS.err_code) for the kinds of reject the loader reports.
ERR_CODES = (
    ("Invalid digit", 1207),
    ("Overflow", 1207),
    ("out of range", 1207),
    ("Missing data", 1213),
    ("too long", 1204),
    ("exceeds DDL length", 1204),
    ("Invalid timestamp", 1206),
    ("Invalid date", 1205),
    ("boolean", 1208),
    ("JSON", 1224),
    ("UTF-8", 1220),
    ("decompress", 8001),
)
DEFAULT_ERR_CODE = 1216  # General input error


@contextmanager
def side_connection(config: EmulatorConfig, database: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to `database` beside the client's session, with the catalog in place."""
    with psycopg.connect(
        host=str(config.backend_socket.parent),
        port=config.backend_port,
        user=config.backend_user,
        dbname=database,
        autocommit=True,
    ) as conn:
        ensure_catalog(conn, database)
        yield conn


def role_password(config: EmulatorConfig, user: str) -> str | None:
    """The MD5 password (`md5…`) of login role `user`, None when there is none (or another kind)."""
    with psycopg.connect(
        host=str(config.backend_socket_dir),
        port=config.backend_port,
        user=config.backend_user,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s AND rolcanlogin", (user,)).fetchone()
    password = row[0] if row else None
    return password if password and password.startswith("md5") and len(password) == 35 else None


def set_md5_password(conn: psycopg.Connection, user: str, password: str) -> None:
    """Give `user` an MD5 password: the form both PostgreSQL and the emulator's clients can use."""
    digest = "md5" + hashlib.md5((password + user).encode()).hexdigest()
    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(user), sql.Literal(digest)))


def ensure_catalog(conn: psycopg.Connection, database: str) -> None:
    with _bootstrap_lock:
        if database not in _bootstrapped:
            conn.execute(CATALOG_SQL)
            _bootstrapped.add(database)


def record_last_copy(conn: psycopg.Connection, session: int, query: int, rows: int) -> None:
    conn.execute(
        "INSERT INTO stv_emulator_last_copy (session, query, rows) VALUES (%s, %s, %s) "
        "ON CONFLICT (session) DO UPDATE SET query = EXCLUDED.query, rows = EXCLUDED.rows",
        (session, query, rows),
    )


def forget_session(conn: psycopg.Connection, session: int) -> None:
    conn.execute("DELETE FROM stv_emulator_last_copy WHERE session = %s", (session,))


def record_load_errors(
    conn: psycopg.Connection, query: int, session: int, command: CopyCommand, rejects: Sequence[LoadError]
) -> None:
    """One stl_load_errors row per reject, committed at once (it outlives the failed load)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with conn.cursor() as cursor:
        cursor.executemany(
            _INSERT_ERROR,
            [
                (
                    command.table,
                    now,
                    session,
                    query,
                    _fit(e.key, 256),
                    e.line,
                    _fit(e.column or "", 127),
                    _fit(e.column_type or "", 10),
                    "",
                    e.position,
                    _fit(_raw_line(e), 1024),
                    _fit(e.raw_value or "", 1024),
                    err_code(e.reason),
                    _fit(e.reason, 100),
                )
                for e in rejects
            ],
        )


def err_code(reason: str) -> int:
    lowered = reason.lower()
    return next((code for text, code in ERR_CODES if text.lower() in lowered), DEFAULT_ERR_CODE)


def _raw_line(error: LoadError) -> str:
    record = getattr(error, "record", None)
    if record is None:
        return error.raw_value or ""
    try:
        return orjson.dumps(record).decode()
    except (TypeError, ValueError):
        return repr(record)


def _fit(text: str, size: int) -> str:
    """Redshift's CHAR(n) columns hold n bytes: cut on a character boundary."""
    data = text.replace("\0", " ").encode("utf-8", "replace")[:size]
    return data.decode("utf-8", "ignore")
