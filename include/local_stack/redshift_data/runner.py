"""Runs the Data API's statements on the Redshift emulator, over its wire protocol, one thread each.

Every statement opens its own session as the emulator's login (so the emulator's Redshift dialect, COPY
and SERIALIZABLE isolation apply) in the database the caller named. An ExecuteStatement runs in
autocommit; a batch runs as one transaction unless its ExecutionMode is AUTO_COMMIT: a failed or
cancelled sub-statement rolls the whole batch back, and the sub-statements after it are ABORTED.
CancelStatement sends the wire protocol's cancel request until the statement has ended.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import psycopg
from psycopg import conninfo, errors

from local_stack.redshift_data.inputs import bind, several_statements
from local_stack.redshift_data.results import result_set
from local_stack.redshift_data.statements import (
    ABORTED,
    ACTIVE,
    FAILED,
    FINISHED,
    PICKED,
    STARTED,
    Statement,
)

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10
MULTIPLE_COMMANDS = "ERROR: cannot insert multiple commands into a prepared statement"
CANCEL_INTERVAL = 0.25  # seconds between cancel requests while a cancelled statement still runs
CANCEL_PATIENCE = 60  # seconds to keep asking


class StatementRunner:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._password = str(conninfo.conninfo_to_dict(dsn).get("password") or "")

    def submit(self, statement: Statement) -> None:
        threading.Thread(target=self._run, args=(statement,), name=f"data-api-{statement.id[:8]}", daemon=True).start()

    def cancel(self, statement: Statement) -> bool:
        """Ask `statement` to stop; False when it has already ended."""
        with statement.lock:
            if statement.status not in ACTIVE:
                return False
            statement.cancel_requested = True
        threading.Thread(target=self._keep_cancelling, args=(statement,), daemon=True).start()
        return True

    # -- the statement's thread ----------------------------------------------------------
    def _run(self, statement: Statement) -> None:
        try:
            self._connect_and_execute(statement)
        except Exception:  # a fault of ours: the statement fails rather than holding its slot
            log.exception("statement %s failed in the local Data API", statement.id)
            if statement.status in ACTIVE:
                running = next((i for i, sub in enumerate(statement.subs) if sub.status in ACTIVE), 0)
                self._end(statement, running, FAILED, "ERROR: the local Data API failed to run the statement")

    def _connect_and_execute(self, statement: Statement) -> None:
        statement.set_status(PICKED)
        try:
            connection = psycopg.connect(
                conninfo.make_conninfo(self._dsn, dbname=statement.target.database),
                autocommit=statement.autocommit or not statement.is_batch,
                connect_timeout=CONNECT_TIMEOUT,
                application_name="redshift-data-api",
            )
        except psycopg.Error as error:
            self._end(statement, 0, FAILED, self._error_text(error))
            return
        with connection:
            with statement.lock:
                if statement.cancel_requested:
                    statement.connection = None
                else:
                    statement.connection, statement.pid = connection, connection.info.backend_pid
            if statement.connection is None:
                self._end(statement, 0, ABORTED, "Query cancelled on user's request")
                return
            statement.set_status(STARTED)
            self._execute(statement, connection)

    def _execute(self, statement: Statement, connection: psycopg.Connection) -> None:
        for index, sub in enumerate(statement.subs):
            if statement.cancel_requested:
                self._rollback(statement, connection)
                self._end(statement, index, ABORTED, "Query cancelled on user's request")
                return
            sub.start()
            if several_statements(sub.query):  # as Redshift prepares it: one statement only
                self._rollback(statement, connection)
                self._end(statement, index, FAILED, MULTIPLE_COMMANDS)
                return
            query, values = bind(sub.query, statement.parameters)
            try:
                cursor = connection.execute(query, values)
            except psycopg.Error as error:
                cancelled = statement.cancel_requested and isinstance(error, errors.QueryCanceled)
                self._rollback(statement, connection)
                self._end(statement, index, ABORTED if cancelled else FAILED, self._error_text(error))
                return
            result = result_set(cursor.pgresult) if cursor.description is not None and cursor.pgresult else None
            sub.end(FINISHED, rows=cursor.rowcount, result=result)
        if not statement.autocommit and statement.is_batch:
            if statement.cancel_requested:
                self._rollback(statement, connection)
                self._end(statement, len(statement.subs), ABORTED, "Query cancelled on user's request")
                return
            try:
                connection.commit()
            except psycopg.Error as error:
                statement.set_status(FAILED, self._error_text(error))
                return
        statement.set_status(FINISHED)

    def _end(self, statement: Statement, index: int, status: str, error: str) -> None:
        """The statement ends with `status` at sub-statement `index`; the ones after it never ran."""
        for position, sub in enumerate(statement.subs[index:]):
            sub.end(status if position == 0 else ABORTED, error if position == 0 else None)
        statement.set_status(status, error)

    def _rollback(self, statement: Statement, connection: psycopg.Connection) -> None:
        if statement.is_batch and not statement.autocommit:
            with contextlib.suppress(psycopg.Error):
                connection.rollback()

    def _error_text(self, error: psycopg.Error) -> str:
        """The warehouse's message as the API's Error gives it, without the login's password."""
        primary = error.diag.message_primary
        text = f"{error.diag.severity or 'ERROR'}: {primary}" if primary else str(error)
        return text.replace(self._password, "***") if self._password else text

    # -- cancelling ---------------------------------------------------------------------
    def _keep_cancelling(self, statement: Statement) -> None:
        """Send cancel requests until the statement ends: one that arrives between two sub-statements is lost."""
        deadline = time.monotonic() + CANCEL_PATIENCE
        while time.monotonic() < deadline:
            with statement.lock:
                connection = statement.connection
                if statement.status not in ACTIVE:
                    return
            if connection is not None:
                try:
                    connection.cancel_safe(timeout=5)
                except Exception:  # the connection closed meanwhile
                    log.debug("cancel request of %s not sent", statement.id, exc_info=True)
            time.sleep(CANCEL_INTERVAL)
