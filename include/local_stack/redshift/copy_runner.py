"""COPY from S3 inside a client's backend session, as Redshift runs it.

The session hands us its backend socket once PostgreSQL has answered everything before the COPY,
and the backend's messages through a queue. We read the table's columns, then send PostgreSQL a
`COPY ... FROM STDIN` and stream it the rows the loader makes, all in the client's transaction.
Rejected rows go to `stl_load_errors` over a side connection, in a transaction of their own, so
they survive a failed load; so does the session's last COPY (`pg_last_copy_id()/_count()`).
STATUPDATE is honoured as Redshift does: the loaded table is analyzed in the client's transaction.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
from typing import TYPE_CHECKING, Any

import psycopg

from local_stack.redshift import wire
from local_stack.redshift.catalog import (
    record_last_copy,
    record_load_commits,
    record_load_errors,
    record_load_start,
    side_connection,
)
from local_stack.redshift.s3copy.converters import Column
from local_stack.redshift.s3copy.errors import CopyError, LoadError, TooManyRejects
from local_stack.redshift.s3copy.loader import (
    FileScan,
    Load,
    columns_query,
    prepare_load,
    quote_table,
    table_oid,
    target_columns,
    write_rows,
)

if TYPE_CHECKING:
    from local_stack.redshift.s3copy.command import CopyCommand
    from local_stack.redshift.server import EmulatorConfig

log = logging.getLogger(__name__)
LOAD_ERROR_SQLSTATE = "XX000"  # what Redshift reports for a failed load


class BackendError(Exception):
    """PostgreSQL refused a statement we sent in the client's session; its ErrorResponse goes to the client."""

    def __init__(self, response: bytes) -> None:
        super().__init__(wire.error_fields(response[5:]).get("M", "error"))
        self.response = response


class _CopyDataWriter(psycopg.copy.Writer):
    """psycopg's COPY formatting, written as CopyData messages to the backend socket."""

    CLIENT_CHECK_EVERY = 16  # writes (of about 32 KiB) between checks that the client is still there

    def __init__(self, backend: socket.socket, replies: queue.Queue, client: socket.socket | None) -> None:
        self.backend = backend
        self.replies = replies
        self.client = client
        self.writes = 0

    def write(self, data) -> None:
        if not self.replies.empty():  # PostgreSQL answered mid-COPY: an error, so stop sending
            raise _Interrupted()
        self.writes += 1
        if self.client is not None and self.writes % self.CLIENT_CHECK_EVERY == 0 and _gone(self.client):
            raise CopyError("the client disconnected during the COPY")
        self.backend.sendall(wire.message(b"d", bytes(data)))

    def finish(self, exc: BaseException | None = None) -> None:
        pass


class _Interrupted(Exception):
    pass


def _gone(client: socket.socket) -> bool:
    """Whether the client closed its connection (a killed task): then the COPY is abandoned."""
    readable, _, _ = select.select([client], [], [], 0)
    if not readable:
        return False
    try:
        return client.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class CopyRunner:
    def __init__(
        self,
        config: EmulatorConfig,
        backend: socket.socket,
        replies: queue.Queue,
        backend_pid: int,
        database: str,
        client: socket.socket | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.backend = backend
        self.replies = replies
        self.backend_pid = backend_pid
        self.database = database
        self.status: bytes | None = None

    def run(self, command: CopyCommand) -> tuple[bytes, bytes | None]:
        """Run `command`; returns the client's messages (notices, CommandComplete or ErrorResponse) and the
        transaction status PostgreSQL reported last."""
        with side_connection(self.config, self.database) as side:
            query_id = side.execute("SELECT nextval('stl_query_id_seq')").fetchall()[0][0]
            record_last_copy(side, self.backend_pid, query_id, 0)
            rejects: list[LoadError] = []
            scanned: list[FileScan] = []
            table_id: int | None = None
            started = False
            try:
                columns, table_id = self._target(command)
                record_load_start(side, self.config, self.database, self.backend_pid, query_id, command, table_id)
                started = True
                rows = self._copy(command, columns, side, rejects, scanned)
            except BackendError as error:
                self._ended(side, query_id, command, started, scanned)
                return error.response, self.status
            except (CopyError, LoadError) as failure:
                self._ended(side, query_id, command, started, scanned)
                if isinstance(failure, LoadError) and failure not in rejects:
                    rejects.append(failure)
                if rejects:
                    record_load_errors(side, query_id, self.backend_pid, command, rejects, table_id)
                    return self._load_failed(command, failure), self.status
                return wire.error_response(str(failure), LOAD_ERROR_SQLSTATE), self.status
            record_load_commits(side, query_id, command, scanned)
            if rejects:
                record_load_errors(side, query_id, self.backend_pid, command, rejects, table_id)
            record_last_copy(side, self.backend_pid, query_id, rows)
        # The same, in the client's transaction: a SERIALIZABLE snapshot older than the side row cannot see it.
        self._select(f"SELECT set_config('redshift_emulator.last_copy', '{int(query_id)} {int(rows)}', false)")
        table = command.table.rpartition(".")[2]
        summary = f"Load into table '{table}' completed, {rows} record(s) loaded successfully."
        if rejects:
            summary += (
                f" {len(rejects)} record(s) could not be loaded. Check 'stl_load_errors' system table for details."
            )
        return wire.notice_response(summary) + wire.command_complete(f"COPY {rows}"), self.status

    def _target(self, command: CopyCommand) -> tuple[list[Column], int | None]:
        """The columns the COPY loads and the table's oid, as the client's session resolves its name: a
        temporary table of the session hides a permanent one of the same name."""
        rows = self._select(columns_query(command.table))
        return target_columns(rows, command.table, command.columns, command.options.explicit_ids), table_oid(rows)

    def _ended(
        self, side: psycopg.Connection, query: int, command: CopyCommand, started: bool, scanned: list[FileScan]
    ) -> None:
        """A COPY failed: its load history row (if it had none yet) and the files it read to their end."""
        if not started:
            record_load_start(side, self.config, self.database, self.backend_pid, query, command)
        record_load_commits(side, query, command, scanned)

    def _copy(
        self,
        command: CopyCommand,
        columns: list[Column],
        side: psycopg.Connection,
        rejects: list[LoadError],
        scanned: list[FileScan],
    ) -> int:
        s3_client = self.config.s3_client(command)
        load = prepare_load(command, columns, s3_client)
        analyze = self._analyze_after(command)
        count = self._load(load, s3_client, side, rejects, scanned)
        if analyze:
            self._select(f"ANALYZE {quote_table(command.table)}")
        return count

    def _analyze_after(self, command: CopyCommand) -> bool:
        """Redshift's STATUPDATE: ON analyzes the table after the load, OFF never; left out, the table is
        analyzed when it was empty before the load. Without statistics PostgreSQL's planner guesses a
        freshly loaded table's size and selectivity, and can pick a nested loop over thousands of rows."""
        if command.options.statupdate is not None:
            return command.options.statupdate
        return not self._select(f"SELECT 1 FROM {quote_table(command.table)} LIMIT 1")

    def _load(
        self, load: Load, s3_client: Any, side: psycopg.Connection, rejects: list[LoadError], scanned: list[FileScan]
    ) -> int:
        self._send(wire.query(load.copy_from_stdin))
        kind, payload = self._next()
        if kind == b"E":
            self._finish()
            raise BackendError(wire.message(kind, payload))
        if kind != b"G":
            raise CopyError(f"unexpected answer {kind!r} to COPY FROM STDIN")
        writer = _CopyDataWriter(self.backend, self.replies, self.client)
        failure: Exception | None = None
        count = 0
        try:
            with psycopg.Copy(side.cursor(), binary=load.binary, writer=writer) as copy:
                count = write_rows(copy, load, load.rows(s3_client, rejects, scanned))
        except _Interrupted:
            pass
        except (CopyError, LoadError) as error:
            failure = error
        except Exception as error:  # a loader defect must not leave the session in COPY mode
            log.exception("COPY into %s failed", load.command.table)
            failure = CopyError(f"internal error of the local Redshift emulator: {error!r}")
        if failure is None:
            self._send(wire.COPY_DONE)
        else:
            self._send(wire.message(b"f", _cstring(str(failure))))
        done = self._finish()
        if failure is not None:
            raise failure
        if done[:1] == b"E":
            raise BackendError(done)
        return count

    def _load_failed(self, command: CopyCommand, failure: Exception) -> bytes:
        table = command.table.rpartition(".")[2]
        detail = str(failure.rejects[0] if isinstance(failure, TooManyRejects) else failure)
        return wire.error_response(
            f"Load into table '{table}' failed.  Check 'stl_load_errors' system table for details.",
            LOAD_ERROR_SQLSTATE,
            detail=detail[:1000],
        )

    # -- the backend conversation ---------------------------------------------------------
    def _send(self, data: bytes) -> None:
        self.backend.sendall(data)

    def _next(self) -> tuple[bytes, bytes]:
        while True:
            kind, payload = self.replies.get()
            if kind not in (b"N", b"S", b"A"):  # notices, parameter status, notifications: not ours
                return kind, payload

    def _finish(self) -> bytes:
        """Read up to ReadyForQuery; returns the CommandComplete or ErrorResponse before it."""
        result = b""
        while True:
            kind, payload = self._next()
            if kind == b"Z":
                self.status = payload
                return result
            if kind in (b"C", b"E") and not result.startswith(b"E"):
                result = wire.message(kind, payload)

    def _select(self, sql: str) -> list[list[Any]]:
        """Rows of a query run in the client's session (text values)."""
        self._send(wire.query(sql))
        rows: list[list[Any]] = []
        error = b""
        while True:
            kind, payload = self._next()
            if kind == b"D":
                rows.append(_data_row(payload))
            elif kind == b"E":
                error = wire.message(kind, payload)
            elif kind == b"Z":
                self.status = payload
                if error:
                    raise BackendError(error)
                return rows


def _data_row(payload: bytes) -> list[str | None]:
    count = int.from_bytes(payload[:2], "big")
    offset, values = 2, list[str | None]()
    for _ in range(count):
        size = int.from_bytes(payload[offset : offset + 4], "big", signed=True)
        offset += 4
        if size < 0:
            values.append(None)
        else:
            values.append(payload[offset : offset + size].decode())
            offset += size
    return values


def _cstring(text: str) -> bytes:
    return text.replace("\0", " ").encode("utf-8", "replace") + b"\0"
