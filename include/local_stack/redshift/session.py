"""One client connection: authenticate it, then relay it to PostgreSQL, answering what only Redshift knows.

The relay is transparent except for three kinds of statement:
- `COPY ... FROM 's3://...'` runs here (see `copy_runner`), inside the client's own backend session
  and transaction, once everything sent before it has been answered;
- Redshift-only DDL is rewritten for PostgreSQL (`statements.rewrite_ddl`);
- the driver's Redshift-only start-up parameters are dropped.
A backend→client thread forwards PostgreSQL's answers; while a COPY runs, it hands them to the
session instead (`capture`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import queue
import re
import socket
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, BinaryIO, cast

from local_stack.redshift import isolation, query_history, wire
from local_stack.redshift.catalog import (
    SET_OVERLAY,
    catalog_databases,
    forget_session,
    log_overlay,
    mentions_log,
    role_password,
    side_connection,
)
from local_stack.redshift.copy_runner import CopyRunner
from local_stack.redshift.dialect import translate
from local_stack.redshift.sql_tokens import first_word, tokenize_complete
from local_stack.redshift.statements import StatementError, parse_copy, redact, refuse_other_copy, rewrite_ddl

if TYPE_CHECKING:
    from local_stack.redshift.server import EmulatorConfig  # noqa: F401

log = logging.getLogger(__name__)
# Start-up parameters that Redshift drivers send and PostgreSQL refuses ("unrecognized configuration parameter").
REDSHIFT_ONLY_PARAMETERS = frozenset(
    {
        "client_protocol_version",
        "driver_version",
        "os_version",
        "driver_discovery_version",
        "plugin_name",
        "idp_type",
        "provider_name",
        "token_type",
        "identity_namespace",
        "idc_client_display_name",
    }
)
_COPY_FROM_S3 = re.compile(r"\bCOPY\b[^;]*\bFROM\s+'s3://", re.IGNORECASE)
_DDL = re.compile(r"\b(?:CREATE|ALTER)\b", re.IGNORECASE)
# The emulator's own COMMIT before a TRUNCATE, a named statement so that the client's unnamed one survives.
_COMMIT_STATEMENT = b"local_stack.redshift.commit_before_truncate\0"
# The emulator's statement that sets the session's log overlay (catalog.SET_OVERLAY), named for the same reason.
_OVERLAY_STATEMENT = b"local_stack.redshift.log_overlay\0"
_MAYBE_SPECIAL = re.compile(rb"s3://|DISTSTYLE|DISTKEY|SORTKEY|ENCODE|IDENTITY|VARCHAR\s*\(\s*MAX", re.IGNORECASE)


class Session:
    def __init__(self, client: socket.socket, config: EmulatorConfig, ended: Callable[[], None] = lambda: None) -> None:
        self.config = config
        self.ended = ended  # called once the session's sockets are closed (the server's session count)
        self.client = client
        self.client_in = cast(BinaryIO, client.makefile("rb", buffering=65536))
        self.backend: socket.socket = None  # type: ignore[assignment]  # connected by _start, before any use
        self.backend_pid = 0
        self.send_lock = threading.Lock()
        self.idle = threading.Condition()
        self.outstanding = 0  # Query/Sync messages sent to the backend and not yet answered by ReadyForQuery
        self.swallow_ready = 0  # ReadyForQuery answers to our own Syncs, not to be forwarded
        self.error_since_sync = False
        self.status = b"I"  # the backend's last transaction status
        self.capture: queue.Queue | None = None
        # The extended protocol's COPY statements and portals, which PostgreSQL never sees.
        self.copy_statements: dict[str, object] = {}
        self.copy_portals: dict[str, object] = {}
        # TRUNCATE commits (r_TRUNCATE.html): the extended protocol's statements and portals that are one.
        self.truncate_statements: set[str] = set()
        self.truncate_portals: set[str] = set()
        # The extended protocol's statements that read a system-log view (their Bind sets the log overlay).
        self.log_statements: set[str] = set()
        self.emulated_since_sync = False
        self.forwarded_since_sync = False
        self.skip_until_sync = False
        self.copied = False  # the session ran a COPY: its pg_last_copy_* row is forgotten at the end
        self.user: str | None = None  # the client's user, once authenticated (stl_query.userid)
        self.database = ""
        self.transaction_tables = isolation.TransactionTables()  # names the table of a 1023 error

    # -- start-up ------------------------------------------------------------------------
    def run(self) -> None:
        # Until authentication completes, the client has `auth_timeout` seconds in all; then the socket is shut.
        deadline = threading.Timer(self.config.auth_timeout, self._auth_expired)
        deadline.daemon = True
        deadline.start()
        try:
            started = self._start()
            deadline.cancel()
            if started:
                threading.Thread(target=self._pump, name="backend-pump", daemon=True).start()
                self._relay()
        except wire.ProtocolViolation as error:
            log.debug("session refused: %s", error)
            with contextlib.suppress(OSError):
                self._fatal(error.sqlstate, str(error))
        except (wire.Disconnected, ConnectionError, OSError) as error:
            log.debug("session ended: %s", error)
        except Exception:
            log.exception("session failed")
        finally:
            deadline.cancel()
            if self.copied:
                self._forget_last_copy()
            # shutdown first: the sockets' makefile() readers keep the descriptors open, and a
            # client must see the connection end, not wait forever for a reply that never comes.
            for sock in (self.client, self.backend):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    with contextlib.suppress(OSError):
                        sock.close()
            self.ended()

    def _auth_expired(self) -> None:
        """The authentication timeout: a client that has not authenticated by now is disconnected."""
        if self.user is None:
            log.debug("authentication timeout: closing the connection")
            with contextlib.suppress(OSError):
                self.client.shutdown(socket.SHUT_RDWR)

    def _start(self) -> bool:
        while True:
            body = wire.read_startup(self.client_in)
            code = int.from_bytes(body[:4], "big")
            if code in (wire.SSL_REQUEST, wire.GSSENC_REQUEST):
                self.client.sendall(b"N")  # no TLS: the emulator listens on 127.0.0.1 only
                continue
            if code == wire.CANCEL_REQUEST:
                self._forward_cancel(body)
                return False
            if code >> 16 != 3:
                self._fatal("08P01", f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
                return False
            break
        params = wire.parse_startup_params(body[4:])
        user = params.get("user", "")
        if not self._authenticate(user):
            return False
        self.user = user
        self.config.session_user.name = user  # the COPY's IAM_ROLE error names the session's user
        self._ensure_catalog(params.get("database") or user)
        self.backend = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.backend.connect(str(self.config.backend_socket))
        self.backend_in = cast(BinaryIO, self.backend.makefile("rb", buffering=65536))
        forwarded = {k: v for k, v in params.items() if k not in REDSHIFT_ONLY_PARAMETERS}
        forwarded.setdefault("database", user)
        forwarded.update(isolation.startup_parameters())  # SERIALIZABLE, whatever the client asked for
        self.database = forwarded["database"]
        self.backend.sendall(wire.startup_packet(code, forwarded))
        while True:
            kind, payload = wire.read_message(self.backend_in, max_length=None)
            if kind == b"R" and payload[:4] != wire.int32(0):
                self._fatal("28000", "the emulator's PostgreSQL asked for a password; it must trust its private socket")
                return False
            if kind == b"K":
                self.backend_pid = int.from_bytes(payload[:4], "big")
            self.client.sendall(wire.message(kind, payload))
            if kind == b"E":
                return False
            if kind == b"Z":
                self.status = payload
                return True

    def _authenticate(self, user: str) -> bool:
        """MD5 password authentication (what redshift_connector, libpq and JDBC all speak), checked
        against the role's MD5 password in PostgreSQL, so users are PostgreSQL's roles."""
        salt = os.urandom(4)
        self.client.sendall(wire.message(b"R", wire.int32(5) + salt))
        kind, payload = wire.read_message(self.client_in, max_length=wire.MAX_PASSWORD_LENGTH)
        offered = payload.rstrip(b"\0").decode(errors="replace")
        stored = role_password(self.config, user)
        expected = "md5" + hashlib.md5(stored[3:].encode() + salt).hexdigest() if stored else ""
        if kind != b"p" or not stored or not hmac.compare_digest(offered, expected):
            self._fatal("28P01", f'password authentication failed for user "{user}"')
            return False
        return True

    def _ensure_catalog(self, database: str) -> None:
        """Redshift's system views and functions in the client's database (once per database and process)."""
        if database in catalog_databases():
            return
        try:
            with side_connection(self.config, database):
                pass
        except Exception:  # no such database: PostgreSQL says so when the session starts
            log.debug("no catalog for database %s", database, exc_info=True)

    def _forward_cancel(self, body: bytes) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(self.config.backend_socket))
            sock.sendall(wire.int32(len(body) + 4) + body)

    def _fatal(self, sqlstate: str, text: str) -> None:
        self.client.sendall(wire.error_response(text, sqlstate, severity="FATAL"))

    # -- backend → client ----------------------------------------------------------------
    def _pump(self) -> None:
        try:
            while True:
                kind, payload = wire.read_message(self.backend_in, max_length=None)  # our own PostgreSQL: trusted
                with self.idle:
                    if self.capture is not None:
                        self.capture.put((kind, payload))
                        continue
                    if kind == b"E":
                        self.error_since_sync = True
                        payload = self._redshift_error(payload)
                    if kind == b"Z":
                        self.status = payload
                        if payload == b"I":
                            self.transaction_tables.reset()
                        self.outstanding -= 1
                        self.idle.notify_all()
                        if self.swallow_ready:
                            self.swallow_ready -= 1
                            continue
                self._to_client(wire.message(kind, payload))
        except (wire.Disconnected, OSError):
            with self.idle:
                self.outstanding = -1  # no backend: nobody waits any more
                self.idle.notify_all()
            try:
                self.client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _redshift_error(self, payload: bytes) -> bytes:
        """A serialization failure as Redshift reports it (error 1023, `isolation`); other errors as they are."""
        translated = isolation.translated_error(payload, self.transaction_tables, self.backend_pid, self._table_id)
        if translated is None:
            if isolation.is_deadlock(payload):  # reported as PostgreSQL does; logged so that a count can see it
                log.warning("deadlock (40P01) in pid %d: %s", self.backend_pid, wire.error_fields(payload).get("M", ""))
            return payload
        reason = wire.error_fields(payload).get("M", "")
        self.config.statement_log.info("pid=%d %s", self.backend_pid, reason)
        log.warning("serialization failure (1023) in pid %d: %s", self.backend_pid, reason)
        return translated

    def _table_id(self, name: str) -> int | None:
        try:
            with side_connection(self.config, self.database) as side:
                row = side.execute("SELECT to_regclass(%s)::oid", (name,)).fetchone()
        except Exception:  # a name the session misread: the error names no table then
            log.debug("no table id for %s", name, exc_info=True)
            return None
        return row[0] if row else None

    def _to_client(self, data: bytes) -> None:
        with self.send_lock:
            self.client.sendall(data)

    # -- client → backend ----------------------------------------------------------------
    def _relay(self) -> None:
        handlers = {
            b"Q": self._query,
            b"P": self._parse,
            b"B": self._bind,
            b"D": self._describe,
            b"E": self._execute,
            b"C": self._close,
            b"S": self._sync,
        }
        while True:
            kind, payload = wire.read_message(self.client_in)
            if kind == b"X":
                self._forward(kind, payload)
                return
            if self.skip_until_sync and kind != b"S":
                continue
            handler = handlers.get(kind)
            if handler is None:
                self._forward(kind, payload)
            else:
                handler(payload)

    def _forward(self, kind: bytes, payload: bytes) -> None:
        if kind in (b"Q", b"S"):
            with self.idle:
                self.outstanding += 1
        if kind in (b"P", b"B", b"D", b"E", b"C", b"H", b"F"):
            self.forwarded_since_sync = True
        self.backend.sendall(wire.message(kind, payload))

    def _query(self, payload: bytes) -> None:
        sql = payload[:-1].decode()
        if _MAYBE_SPECIAL.search(payload):
            try:
                command = parse_copy(sql)
            except StatementError as error:
                self._wait_idle()
                self._to_client(wire.error_response(str(error), error.sqlstate) + wire.ready_for_query(self.status))
                return
            if command is not None:
                self._stash_copy(sql)
                self._wait_idle()
                self._to_client(self._run_copy(command) + wire.ready_for_query(self.status))
                return
            if _COPY_FROM_S3.search(sql):  # a COPY from S3 after another statement in one Query
                self._wait_idle()
                self._to_client(
                    wire.error_response(
                        "COPY from S3 must be sent as a statement of its own in the local Redshift emulator", "0A000"
                    )
                    + wire.ready_for_query(self.status)
                )
                return
        try:
            translated = to_postgresql(sql, self.config.dialect)
        except StatementError as error:
            self._log_statement(sql)
            self._wait_idle()
            self._to_client(
                wire.error_response(error.message, error.sqlstate, detail=error.detail)
                + wire.ready_for_query(self.status)
            )
            return
        if translated is not None:
            payload = translated.encode() + b"\0"
        self._log_statement(sql)
        if query_history.mentions_history(sql):
            query_history.flush(self.config)  # the statement sees every one sent before it
        if mentions_log(sql):
            self._wait_idle()
            refused = self._set_log_overlay()
            if refused:
                self._to_client(refused + wire.ready_for_query(self.status))
                return
        if "truncate" in sql.lower() and self._query_with_truncate(sql):
            return
        self._forward(b"Q", payload)

    def _parse(self, payload: bytes) -> None:
        name, offset = wire.cstring(payload)
        sql, rest = wire.cstring(payload, offset)
        self.copy_statements.pop(name, None)
        self.truncate_statements.discard(name)
        self.log_statements.discard(name)
        if _MAYBE_SPECIAL.search(payload):
            try:
                command = parse_copy(sql)
            except StatementError as error:
                self._emulated_error(str(error), error.sqlstate)
                return
            if command is not None:
                self._stash_copy(sql)
                self._emulate()
                self.copy_statements[name] = command
                self._to_client(wire.PARSE_COMPLETE)
                return
        try:
            translated = to_postgresql(sql, self.config.dialect)
        except StatementError as error:
            self._log_statement(sql)
            self._emulated_error(error.message, error.sqlstate, error.detail)
            return
        if translated is not None:
            payload = name.encode() + b"\0" + translated.encode() + b"\0" + payload[rest:]
        self._log_statement(sql)
        if query_history.mentions_history(sql):
            query_history.flush(self.config)
        if first_word(sql) == "TRUNCATE":
            self.truncate_statements.add(name)
        if mentions_log(sql):
            self.log_statements.add(name)
        self._forward(b"P", payload)

    def _bind(self, payload: bytes) -> None:
        portal, offset = wire.cstring(payload)
        statement, _ = wire.cstring(payload, offset)
        self.copy_portals.pop(portal, None)
        if statement in self.copy_statements:
            self._emulate()
            self.copy_portals[portal] = self.copy_statements[statement]
            self._to_client(wire.BIND_COMPLETE)
            return
        self.truncate_portals.discard(portal)
        if statement in self.truncate_statements:
            # Before the Bind: committing ends the transaction, and with it the portals bound in it.
            self._close_batch()
            if self.skip_until_sync:
                return
            error = self._commit_before_truncate()
            if error:
                self._to_client(error)
                self.skip_until_sync = self.emulated_since_sync = True
                return
            self.truncate_portals.add(portal)
        elif statement in self.log_statements:
            self._close_batch()  # the overlay is set after what the batch sent before, and before the Bind
            if self.skip_until_sync:
                return
            error = self._set_log_overlay()
            if error:
                self._to_client(error)
                self.skip_until_sync = self.emulated_since_sync = True
                return
        self._forward(b"B", payload)

    def _describe(self, payload: bytes) -> None:
        kind, name = payload[:1], wire.cstring(payload, 1)[0]
        if kind == b"S" and name in self.copy_statements:
            self._emulate()
            self._to_client(wire.NO_PARAMETERS + wire.NO_DATA)
        elif kind == b"P" and name in self.copy_portals:
            self._emulate()
            self._to_client(wire.NO_DATA)
        else:
            self._forward(b"D", payload)

    def _execute(self, payload: bytes) -> None:
        portal, _ = wire.cstring(payload)
        command = self.copy_portals.get(portal)
        if command is None:
            self._forward(b"E", payload)
            if portal in self.truncate_portals:  # the TRUNCATE commits at once, not at the client's Sync
                self.truncate_portals.discard(portal)
                self._close_batch()
            return
        self._emulate()
        reply = self._run_copy(command)
        self._to_client(reply)
        if reply[:1] == b"E":
            self.skip_until_sync = True

    def _close(self, payload: bytes) -> None:
        kind, name = payload[:1], wire.cstring(payload, 1)[0]
        mapping = self.copy_statements if kind == b"S" else self.copy_portals
        (self.truncate_statements if kind == b"S" else self.truncate_portals).discard(name)
        if kind == b"S":
            self.log_statements.discard(name)
        if name in mapping:
            self._emulate()
            del mapping[name]
            self._to_client(wire.CLOSE_COMPLETE)
        else:
            self._forward(b"C", payload)

    def _sync(self, payload: bytes) -> None:
        if self.forwarded_since_sync or not self.emulated_since_sync:
            self._forward(b"S", payload)
        else:
            self._to_client(wire.ready_for_query(self.status))
        self.forwarded_since_sync = self.emulated_since_sync = self.skip_until_sync = False

    # -- emulated statements -----------------------------------------------------------------
    def _emulate(self) -> None:
        """Make the backend idle before answering for it, so that answers keep their order."""
        self._close_batch()
        self.emulated_since_sync = True

    def _close_batch(self) -> None:
        """End what the client's batch sent PostgreSQL so far, and wait until PostgreSQL has answered everything."""
        if self.forwarded_since_sync:
            # Messages of this batch went to PostgreSQL: close the batch with a Sync of our own.
            with self.idle:
                self.outstanding += 1
                self.swallow_ready += 1
                self.error_since_sync = False
            self.backend.sendall(wire.message(b"S"))
            self.forwarded_since_sync = False
            self._wait_idle()
            if self.error_since_sync:  # PostgreSQL skipped to that Sync: so does the client's batch
                self.skip_until_sync = True
        self._wait_idle()

    # -- TRUNCATE commits ---------------------------------------------------------------------
    def _query_with_truncate(self, sql: str) -> bool:
        """Run a simple Query with a TRUNCATE: False (nothing done) when none of its statements is one.

        Redshift's TRUNCATE commits the transaction it runs in (r_TRUNCATE.html). Inside a transaction
        block, the block is committed first (`_commit_before_truncate`); and each TRUNCATE is a Query of
        its own, so that it commits as it ends, whatever the statements sent with it do. The pieces'
        answers reach the client as one Query's: each piece's ReadyForQuery but the last is swallowed,
        and the first error ends the Query.
        """
        parts = split_statements(sql)
        if not any(is_truncate(part) for part in parts):
            return False
        pieces: list[str] = []  # each TRUNCATE alone, and the runs of other statements between them
        for part in parts:
            if pieces and not is_truncate(part) and not is_truncate(pieces[-1]):
                pieces[-1] += ";\n" + part
            else:
                pieces.append(part)
        self._wait_idle()
        for number, piece in enumerate(pieces, 1):
            if is_truncate(piece):
                error = self._commit_before_truncate()
                if error:
                    self._to_client(error + wire.ready_for_query(self.status))
                    return True
            text = (to_postgresql(piece, self.config.dialect) or piece).encode() + b"\0"
            if number == len(pieces):
                self._forward(b"Q", text)
                return True
            with self.idle:
                self.outstanding += 1
                self.swallow_ready += 1
                self.error_since_sync = False
            self.backend.sendall(wire.message(b"Q", text))
            self._wait_idle()
            if self.error_since_sync:  # PostgreSQL ends a Query at its first error: so do its pieces
                self._to_client(wire.ready_for_query(self.status))
                return True
        return True

    def _commit_before_truncate(self) -> bytes:
        """Inside a transaction block, commit it, as the TRUNCATE that follows does on Redshift; the backend
        must be idle. Returns PostgreSQL's ErrorResponse when the COMMIT failed (a serialization failure), else
        b"". In a failed block ('E') nothing is sent: PostgreSQL refuses the TRUNCATE itself, as Redshift does.
        The COMMIT goes as a named statement of the extended protocol, closed before and after: a simple
        Query would destroy the client's unnamed statement, which may be the TRUNCATE's."""
        if self.status != b"T":
            return b""
        return self._run_own_statement(_COMMIT_STATEMENT, b"COMMIT")

    # -- the log overlay ----------------------------------------------------------------------
    def _set_log_overlay(self) -> bytes:
        """Inside a transaction block, set the session's log overlay (catalog.sql) in its transaction, so that
        the statement that follows sees what the session's COPYs and statements logged since the transaction
        began, however old its snapshot; the backend must be idle. Returns PostgreSQL's ErrorResponse, if
        any, else b"". Outside a block, a statement's own snapshot is newer than the logged rows: nothing to do."""
        if self.status != b"T":
            return b""
        try:
            with side_connection(self.config, self.database) as side:
                overlay = log_overlay(side, self.backend_pid)
        except Exception:  # the logs are a diagnosis: the client's statement runs without the overlay
            log.debug("no log overlay for pid %d", self.backend_pid, exc_info=True)
            return b""
        return self._run_own_statement(_OVERLAY_STATEMENT, SET_OVERLAY.encode(), [v.encode() for v in overlay])

    def _run_own_statement(self, name: bytes, sql: bytes, params: Sequence[bytes] = ()) -> bytes:
        """Run the emulator's statement `sql` (text parameters `params`) in the client's session, as the
        extended protocol's statement `name`, closed before and after: a simple Query would destroy the
        client's unnamed statement. Its rows are dropped, its notices forwarded. The backend must be idle.
        Returns PostgreSQL's ErrorResponse (Redshift's for a serialization failure) or b""."""
        no_formats = b"\0\0"
        values = b"".join(wire.int32(len(value)) + value for value in params)
        messages = (
            wire.message(b"C", b"S" + name)  # left by a failed run (its Close was skipped)
            + wire.message(b"P", name + sql + b"\0" + no_formats)
            + wire.message(b"B", b"\0" + name + no_formats + len(params).to_bytes(2, "big") + values + no_formats)
            + wire.message(b"E", b"\0" + wire.int32(0))
            + wire.message(b"C", b"S" + name)
            + wire.message(b"S")
        )
        with self.idle:
            self.capture = queue.Queue()
        try:
            self.backend.sendall(messages)
            error = b""
            while True:
                kind, payload = self.capture.get()
                if kind == b"E":
                    error = wire.message(kind, self._redshift_error(payload))
                elif kind == b"N":
                    self._to_client(wire.message(kind, payload))
                elif kind == b"Z":
                    self.status = payload
                    return error
        finally:
            with self.idle:
                self.capture = None

    def _emulated_error(self, text: str, sqlstate: str, detail: str | None = None) -> None:
        self._emulate()
        self._to_client(wire.error_response(text, sqlstate, detail=detail))
        self.skip_until_sync = True

    def _wait_idle(self) -> None:
        with self.idle:
            while self.outstanding > 0:
                self.idle.wait()
            if self.outstanding < 0:
                raise wire.Disconnected("backend closed")

    def _run_copy(self, command) -> bytes:
        """Run a COPY from S3 in this session; returns the messages for the client (without ReadyForQuery)."""
        self.config.statement_log.info("pid=%d COPY %s", self.backend_pid, redact(command_sql(command)))
        self.copied = True
        with self.idle:
            self.capture = queue.Queue()
        try:
            runner = CopyRunner(self.config, self.backend, self.capture, self.backend_pid, self.database, self.client)
            reply, status = runner.run(command)
            if status:
                self.status = status
            return reply
        finally:
            with self.idle:
                self.capture = None

    def _forget_last_copy(self) -> None:
        """A later session with the same backend pid starts with no last COPY, as on Redshift."""
        try:
            with side_connection(self.config, self.database) as side:
                forget_session(side, self.backend_pid)
        except Exception:  # the database may be gone; nothing to forget then
            log.debug("could not forget the last COPY of pid %d", self.backend_pid, exc_info=True)

    def _stash_copy(self, sql: str) -> None:
        """A COPY from S3 is noted for stl_query by its runner, under the COPY's own query id, and logged by it."""
        query_history.stash_copy(self.config, self.database, self.backend_pid, sql)

    def _log_statement(self, sql: str) -> None:
        """Log `sql` and note it for stl_query (and for a 1023 error's table)."""
        self.transaction_tables.note(sql)
        query_history.record(self.config, self.database, self.backend_pid, self.user, sql)
        if self.config.statement_log.isEnabledFor(logging.INFO):
            self.config.statement_log.info("pid=%d %s", self.backend_pid, redact(sql).strip()[:2000])


def to_postgresql(sql: str, dialect: bool = True) -> str | None:
    """The statement PostgreSQL runs for client statement `sql` (None: as it is); StatementError if refused.

    Redshift's dialect first (functions, date parts, TOP, refusals of PostgreSQL-only SQL; skipped
    when `dialect` is False), then its DDL (distribution, sort keys, IDENTITY, constraints).
    """
    if ";" in sql.rstrip().rstrip(";"):
        parts = split_statements(sql)
        if len(parts) > 1:  # a simple Query of several: each its own statement, as a cluster parses them
            rewritten = [to_postgresql(part, dialect) for part in parts]
            if all(r is None for r in rewritten):
                return None
            return ";\n".join(r if r is not None else part for r, part in zip(rewritten, parts, strict=True))
    serializable = isolation.serializable_only(sql)
    if serializable is not None:  # BEGIN/SET ... ISOLATION LEVEL: Redshift runs every level as SERIALIZABLE
        return serializable
    if first_word(sql) == "COPY":  # whatever `dialect` says: no server-side file or program
        refuse_other_copy(sql)
    translated = translate(sql) if dialect else None
    if _DDL.search(sql):
        ddl = rewrite_ddl(translated if translated is not None else sql)
        if ddl is not None:
            return ddl
    return translated


def split_statements(sql: str) -> list[str]:
    """The statements of `sql` (split at semicolons outside strings, identifiers and comments), without empty
    ones; `sql` itself when it does not lex to the end (PostgreSQL reports what is unterminated)."""
    tokens = tokenize_complete(sql)
    if tokens is None:
        return [sql]
    parts, start = [], 0
    for token in tokens:
        if token.is_punct(";"):
            parts.append(sql[start : token.start])
            start = token.end
    parts.append(sql[start:])
    return [part for part in parts if part.strip()]


def is_truncate(sql: str) -> bool:
    """True when the statement `sql` is a TRUNCATE."""
    return first_word(sql) == "TRUNCATE"


def command_sql(command) -> str:
    return f"{command.table} FROM {command.source}"
