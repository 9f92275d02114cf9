"""The two ways a client reaches the emulator, each running one fidelity case.

redshift_connector sends every statement with the extended protocol (Parse/Bind/Execute), as
Airflow's RedshiftSQLHook does; psycopg2 sends it with the simple protocol (one Query message), as
PostgresHook and the public Sparkify projects do. A case runs in one transaction, rolled back after,
so cases leave nothing behind; an `autocommit` case runs its own `teardown` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import psycopg2  # type: ignore[import-untyped]
import redshift_connector

from tests.fidelity.cases import Case
from tests.support import connect_redshift_connector

PROTOCOLS = {"redshift_connector": "extended", "psycopg2": "simple"}


@dataclass(frozen=True)
class Outcome:
    rows: list[list[Any]] | None = None
    columns: tuple[str, ...] = ()
    sqlstate: str | None = None
    message: str | None = None
    setup_error: str | None = None  # a setup statement failed: the case did not run


class Client(Protocol):
    def run(self, case: Case, sql: dict[str, str]) -> Outcome: ...

    def close(self) -> None: ...


def _statements(case: Case, fill: dict[str, str]) -> tuple[list[str], str, list[str]]:
    def render(text: str) -> str:
        for key, value in fill.items():
            text = text.replace("{" + key + "}", value)
        return text

    return [render(s) for s in case.setup], render(case.statement), [render(s) for s in case.teardown]


class RedshiftConnectorClient:
    """redshift_connector: the extended query protocol."""

    def __init__(self, settings: Any) -> None:
        self._settings = settings
        self._conn = self._connect()

    def _connect(self) -> redshift_connector.Connection:
        s = self._settings
        return connect_redshift_connector(s)

    def run(self, case: Case, fill: dict[str, str]) -> Outcome:
        setup, statement, teardown = _statements(case, fill)
        self._conn.autocommit = case.autocommit
        cursor = self._conn.cursor()
        try:
            for number, sql in enumerate(setup, 1):
                try:
                    cursor.execute(sql)
                except redshift_connector.Error as error:
                    return _setup_failed(number, sql, _connector_error(error))
            try:
                cursor.execute(statement)
            except redshift_connector.Error as error:
                return _connector_error(error)
            return _result(cursor)
        finally:
            self._finish(teardown)

    def _finish(self, teardown: list[str]) -> None:
        try:
            if self._conn.autocommit:
                cursor = self._conn.cursor()
                for sql in teardown:
                    cursor.execute(sql)
            else:
                self._conn.rollback()
        except Exception:  # a broken connection must not fail the next case
            self.close()
            self._conn = self._connect()

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:
            pass


def _setup_failed(number: int, sql: str, error: Outcome) -> Outcome:
    head = " ".join(sql.split())[:60]
    return Outcome(setup_error=f"setup statement {number} ({head}…) failed: {error.sqlstate}: {error.message}")


def _result(cursor: Any) -> Outcome:
    if not cursor.description:
        return Outcome(rows=[])
    return Outcome(rows=[list(r) for r in cursor.fetchall()], columns=tuple(str(d[0]) for d in cursor.description))


def _connector_error(error: Exception) -> Outcome:
    fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    return Outcome(sqlstate=fields.get("C"), message=fields.get("M") or str(error))


class Psycopg2Client:
    """psycopg2: the simple query protocol."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn = psycopg2.connect(dsn)

    def run(self, case: Case, fill: dict[str, str]) -> Outcome:
        setup, statement, teardown = _statements(case, fill)
        self._conn.autocommit = case.autocommit
        try:
            with self._conn.cursor() as cursor:
                for number, sql in enumerate(setup, 1):
                    try:
                        cursor.execute(sql)
                    except psycopg2.Error as error:
                        failed = Outcome(sqlstate=error.pgcode, message=_psycopg2_message(error))
                        return _setup_failed(number, sql, failed)
                try:
                    cursor.execute(statement)
                except psycopg2.Error as error:
                    return Outcome(sqlstate=error.pgcode, message=_psycopg2_message(error))
                return _result(cursor)
        finally:
            self._finish(teardown)

    def _finish(self, teardown: list[str]) -> None:
        try:
            if self._conn.autocommit:
                with self._conn.cursor() as cursor:
                    for sql in teardown:
                        cursor.execute(sql)
            else:
                self._conn.rollback()
        except Exception:
            self.close()
            self._conn = psycopg2.connect(self._dsn)

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:
            pass


def _psycopg2_message(error: psycopg2.Error) -> str:
    primary = error.diag.message_primary if error.diag else None
    return primary or str(error).strip()
