"""Redshift's system objects that the emulator keeps in PostgreSQL, and the side connection that writes them."""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import psycopg
from psycopg import sql

from local_stack.redshift import query_history, quota

if TYPE_CHECKING:
    from local_stack.redshift.s3copy.command import CopyCommand
    from local_stack.redshift.s3copy.errors import LoadError
    from local_stack.redshift.s3copy.loader import FileScan
    from local_stack.redshift.server import EmulatorConfig

# Redshift's system tables and views (catalog.sql), then its functions and operators (functions.sql),
# then its table quota (quota.sql; the quota row is written by ensure_catalog).
CATALOG_SQL = "\n".join(
    Path(__file__).with_name(name).read_text()
    for name in ("catalog.sql", "constraints.sql", "functions.sql", "quota.sql")
)
_bootstrapped: set[str] = set()
_bootstrap_lock = threading.Lock()
# The client's user (usesysid) of the session whose backend pid is the first parameter.
_CLIENT_USER = "(SELECT a.usesysid::integer FROM pg_stat_activity a WHERE a.pid = %s LIMIT 1)"
_INSERT_ERROR = (
    "INSERT INTO redshift_emulator.load_errors (userid, slice, tbl, starttime, session, query, filename, line_number, "
    "colname, type, col_length, position, raw_line, raw_field_value, err_code, err_reason, is_partial, "
    "start_offset) VALUES (COALESCE(" + _CLIENT_USER + ", 100), 0, %s, %s, %s, %s, "
    "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, 0)"
)
_START_LOAD = (
    "INSERT INTO stl_emulator_load_history (query_id, user_id, session_id, database_name, table_name, table_id, "
    "data_source, file_format, start_time, status, copier) VALUES (%s, " + _CLIENT_USER + ", %s, current_database(), "
    "%s, %s, %s, %s, %s, 'running', pg_backend_pid()) ON CONFLICT (query_id) DO NOTHING"
)
_INSERT_COMMITS = (
    "INSERT INTO stl_emulator_load_commits (query, filename, lines_scanned, bytes, curtime, file_format) "
    "SELECT %s, f.name, f.lines, f.size, f.done, %s "
    "FROM unnest(%s::text[], %s::integer[], %s::bigint[], %s::timestamp[]) AS f(name, lines, size, done)"
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
LOAD_HISTORY_ROWS = 10_000  # sys_load_history keeps the newest loads


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


# A client login's attributes, as a Redshift user's: no superuser, no new databases or roles (ALTER ROLE ... WITH).
UNPRIVILEGED = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
# PostgreSQL's roles that read or write the server's files or run its programs (COPY ... FROM '/file', PROGRAM).
SERVER_FILE_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
# Databases that only superusers may connect to (besides template0, which nobody may).
PRIVATE_DATABASES = ("postgres", "template1")


def ensure_role(conn: psycopg.Connection, role: str) -> None:
    """Login role `role`, with UNPRIVILEGED's attributes (made so again if it had others)."""
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
    conn.execute(sql.SQL("ALTER ROLE {} WITH {}").format(sql.Identifier(role), UNPRIVILEGED))


def secure_client_login(conn: psycopg.Connection, user: str, database: str) -> None:
    """Make `user` a login like a Redshift user's: the owner of `database` (the connection's, a superuser's)
    and of its public schema, and nothing else. No superuser, CREATEDB or CREATEROLE, no membership in
    SERVER_FILE_ROLES, no CONNECT on PRIVATE_DATABASES. Idempotent; the emulator runs it at every start."""
    is_superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not (is_superuser and is_superuser[0]):
        raise PermissionError("the emulator's backend user must be a superuser (the private one, not a client's)")
    ensure_role(conn, user)
    role = sql.Identifier(user)
    held = conn.execute(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s AND r.rolname = ANY(%s)",
        (user, list(SERVER_FILE_ROLES)),
    ).fetchall()
    for (granted,) in held:
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(granted), role))
    conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), role))
    for name in (*PRIVATE_DATABASES, database):  # the owner keeps its own rights on `database`
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
    conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))


def catalog_databases() -> frozenset[str]:
    """The databases whose catalog this process has put in place."""
    return frozenset(_bootstrapped)


def ensure_catalog(conn: psycopg.Connection, database: str) -> None:
    with _bootstrap_lock:
        if database not in _bootstrapped:
            _drop_views_of_another_catalog(conn)
            conn.execute(CATALOG_SQL)
            conn.execute("UPDATE redshift_emulator.catalog_digest SET digest = %s", (CATALOG_DIGEST,))
            quota.write_quota(conn)
            _bootstrapped.add(database)


# CREATE OR REPLACE VIEW cannot change a column's type: when the catalog's text changed (an upgrade),
# its views are dropped first and created anew.
CATALOG_DIGEST = hashlib.sha256(CATALOG_SQL.encode()).hexdigest()
_CATALOG_VIEWS = re.findall(r"CREATE OR REPLACE VIEW ([\w.]+)", CATALOG_SQL)


def _drop_views_of_another_catalog(conn: psycopg.Connection) -> None:
    conn.execute(
        "CREATE SCHEMA IF NOT EXISTS redshift_emulator; "
        "CREATE TABLE IF NOT EXISTS redshift_emulator.catalog_digest (digest TEXT); "
        "INSERT INTO redshift_emulator.catalog_digest SELECT '' WHERE NOT EXISTS "
        "(SELECT FROM redshift_emulator.catalog_digest)"
    )
    # Before the log views, stl_load_errors was the table itself: it becomes redshift_emulator.load_errors.
    conn.execute(
        "DO $$ BEGIN IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('public.stl_load_errors')) = 'r' "
        "THEN ALTER TABLE public.stl_load_errors SET SCHEMA redshift_emulator; "
        "ALTER TABLE redshift_emulator.stl_load_errors RENAME TO load_errors; END IF; END $$"
    )
    (stored,) = conn.execute("SELECT digest FROM redshift_emulator.catalog_digest").fetchone() or ("",)
    if stored != CATALOG_DIGEST:
        for view in reversed(_CATALOG_VIEWS):  # the later ones may read the earlier ones
            conn.execute(f"DROP VIEW IF EXISTS {view} CASCADE")


def record_last_copy(conn: psycopg.Connection, session: int, query: int, rows: int) -> None:
    """The session's last COPY; once `record_load_start` has run for `query`, its load completed."""
    conn.execute(
        "INSERT INTO stv_emulator_last_copy (session, query, rows) VALUES (%s, %s, %s) "
        "ON CONFLICT (session) DO UPDATE SET query = EXCLUDED.query, rows = EXCLUDED.rows",
        (session, query, rows),
    )
    conn.execute(
        "UPDATE stl_emulator_load_history SET status = 'completed', end_time = %s, loaded_rows = %s "
        "WHERE query_id = %s AND status <> 'completed'",
        (_now(), rows, query),
    )


def record_load_start(
    conn: psycopg.Connection,
    config: EmulatorConfig,
    database: str,
    session: int,
    query: int,
    command: CopyCommand,
    table_id: int | None = None,
) -> None:
    """A COPY begins: its sys_load_history row ('running' until it completes or fails) and its stl_query row.

    `table_id` is the oid of the target table as the client's session sees it (a temporary table
    of that session included); None when it has none."""
    conn.execute(
        _START_LOAD,
        (query, session, session, command.table, table_id, command.source, _file_format(command), _now()),
    )
    query_history.record_copy(config, database, session, None, query, f"COPY {command.table} FROM '{command.source}'")
    with contextlib.suppress(psycopg.Error):
        oldest = conn.execute(
            "SELECT query_id FROM stl_emulator_load_history ORDER BY query_id DESC OFFSET %s LIMIT 1",
            (LOAD_HISTORY_ROWS - 1,),
        ).fetchone()
        if oldest is not None:
            conn.execute("DELETE FROM stl_emulator_load_history WHERE query_id < %s", oldest)
            conn.execute("DELETE FROM stl_emulator_load_commits WHERE query < %s", oldest)


def record_load_commits(conn: psycopg.Connection, query: int, command: CopyCommand, scans: Sequence[FileScan]) -> None:
    """One stl_load_commits row per file that COPY `query` read, committed at once (as on Redshift, the
    row does not mean that the load's transaction committed)."""
    if scans:
        conn.execute(
            _INSERT_COMMITS,
            (
                query,
                _file_format(command).upper(),
                [s.uri for s in scans],
                [s.lines for s in scans],
                [s.size for s in scans],
                [s.done for s in scans],
            ),
        )


def forget_session(conn: psycopg.Connection, session: int) -> None:
    conn.execute("DELETE FROM stv_emulator_last_copy WHERE session = %s", (session,))


def record_load_errors(
    conn: psycopg.Connection,
    query: int,
    session: int,
    command: CopyCommand,
    rejects: Sequence[LoadError],
    table_id: int | None = None,
) -> None:
    """One stl_load_errors row per reject, committed at once (it outlives the failed load); `table_id` as in
    `record_load_start`.

    The load is marked aborted; `record_last_copy` marks it completed if it loads despite them (MAXERROR)."""
    now = _now()
    with conn.transaction(), conn.cursor() as cursor:  # all at once: the log overlay replaces a query's rows
        cursor.executemany(
            _INSERT_ERROR,
            [
                (
                    session,
                    table_id,
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
    conn.execute(
        "UPDATE stl_emulator_load_history SET status = 'aborted', end_time = %s, loaded_rows = 0 "
        "WHERE query_id = %s AND status = 'running'",
        (now, query),
    )


# The system-log views whose rows a session's own statements may have logged over a side connection.
LOG_VIEWS = (
    "stl_load_errors",
    "stl_loaderror_detail",
    "sys_load_error_detail",
    "sys_load_history",
    "stl_load_commits",
    "stl_query",
    "sys_query_history",
)
OVERLAY_ROWS = 1000  # the newest rows of each log that a session's overlay holds
# The rows that the session of backend `pid` logged since its transaction began (a second's margin:
# the rows are stamped by the emulator's clock), newest first, as JSON arrays: the log overlay.
_OVERLAY = """
WITH tx AS (SELECT (a.xact_start AT TIME ZONE 'UTC') - interval '1 second' AS since
            FROM pg_stat_activity a WHERE a.pid = %(pid)s),
     loads AS (SELECT h.* FROM stl_emulator_load_history h, tx
               WHERE h.session_id = %(pid)s AND h.start_time >= tx.since ORDER BY h.query_id DESC LIMIT %(rows)s)
SELECT
    (SELECT COALESCE(json_agg(e), '[]') FROM (
        SELECT e.* FROM redshift_emulator.load_errors e, tx
        WHERE e.session = %(pid)s AND e.starttime >= tx.since ORDER BY e.query DESC LIMIT %(rows)s) e)::text,
    (SELECT COALESCE(json_agg(h), '[]') FROM loads h)::text,
    (SELECT COALESCE(json_agg(c), '[]') FROM (
        SELECT c.* FROM stl_emulator_load_commits c WHERE c.query IN (SELECT query_id FROM loads)
        ORDER BY c.query DESC LIMIT %(rows)s) c)::text,
    (SELECT COALESCE(json_agg(q), '[]') FROM (
        SELECT q.* FROM stl_emulator_query_history q, tx
        WHERE q.pid = %(pid)s AND q.starttime >= tx.since ORDER BY q.query DESC LIMIT %(rows)s) q)::text
"""
# The statement that sets a log overlay in the client's transaction (parameters: `log_overlay`'s values).
SET_OVERLAY = (
    "SELECT set_config('redshift_emulator.overlay_load_errors', $1, true), "
    "set_config('redshift_emulator.overlay_load_history', $2, true), "
    "set_config('redshift_emulator.overlay_load_commits', $3, true), "
    "set_config('redshift_emulator.overlay_query_history', $4, true)"
)


def mentions_log(sql: str) -> bool:
    """Whether `sql` may read a system-log view (then its session's log overlay is set before it runs)."""
    lowered = sql.lower()
    return any(view in lowered for view in LOG_VIEWS)


def log_overlay(conn: psycopg.Connection, pid: int) -> tuple[str, str, str, str]:
    """The log rows of the session of backend `pid` since its transaction began, for SET_OVERLAY:
    load errors, load history, load commits, query history (JSON arrays)."""
    row = conn.execute(_OVERLAY, {"pid": pid, "rows": OVERLAY_ROWS}).fetchone()
    return (row[0], row[1], row[2], row[3]) if row else ("[]", "[]", "[]", "[]")


def _file_format(command: CopyCommand) -> str:
    return str(getattr(command.options, "format", None) or "json").lower()  # the loader reads JSON


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


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
