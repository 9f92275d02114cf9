"""The Data API's statements: their states, sub-statements and results, and the server's store of them.

A statement is SUBMITTED when accepted, PICKED when a worker takes it, STARTED once it is connected and
running, then FINISHED, FAILED (with the warehouse's error) or ABORTED (cancelled). An ExecuteStatement
is a statement with one sub-statement that is not shown as such; a batch shows its sub-statements with
ids `<id>:1`, `<id>:2`, ... The store keeps statements for a day, as the API does.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from local_stack.redshift_data.results import ResultSet

SUBMITTED, PICKED, STARTED = "SUBMITTED", "PICKED", "STARTED"
FINISHED, FAILED, ABORTED = "FINISHED", "FAILED", "ABORTED"
ACTIVE = frozenset({SUBMITTED, PICKED, STARTED})
RETENTION_SECONDS = 24 * 3600  # the API keeps a statement's metadata and result for 24 hours


@dataclass(frozen=True)
class Target:
    """Where a statement runs, as the caller named it (the login is always the emulator's: see the package)."""

    database: str
    workgroup_name: str | None = None
    cluster_identifier: str | None = None
    db_user: str | None = None
    secret_arn: str | None = None

    def fields(self) -> dict[str, str]:
        named = {
            "Database": self.database,
            "WorkgroupName": self.workgroup_name,
            "ClusterIdentifier": self.cluster_identifier,
            "DbUser": self.db_user,
            "SecretArn": self.secret_arn,
        }
        return {key: value for key, value in named.items() if value is not None}


@dataclass
class SubStatement:
    id: str
    query: str
    created_at: float
    updated_at: float
    status: str = SUBMITTED
    error: str | None = None
    duration_ns: int = -1
    result_rows: int = -1
    result: ResultSet | None = None
    _started: float = 0.0

    def start(self) -> None:
        self.status, self.updated_at, self._started = STARTED, time.time(), time.monotonic()

    def end(self, status: str, error: str | None = None, rows: int = -1, result: ResultSet | None = None) -> None:
        if self._started:
            self.duration_ns = int((time.monotonic() - self._started) * 1e9)
        self.status, self.error, self.result_rows, self.result = status, error, rows, result
        self.updated_at = time.time()

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Duration": self.duration_ns,
            "QueryString": self.query,
            "HasResultSet": self.result is not None,
            "ResultRows": self.result_rows,
            "ResultSize": self.result.size if self.result is not None else -1,
        }
        if self.error is not None:
            out["Error"] = self.error
        return out


@dataclass
class Statement:
    target: Target
    queries: list[str]
    is_batch: bool
    parameters: list[dict] | None = None
    name: str | None = None
    autocommit: bool = False  # a batch's ExecutionMode AUTO_COMMIT; an ExecuteStatement always is
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: float = field(default_factory=time.time)
    status: str = SUBMITTED
    error: str | None = None
    pid: int | None = None
    cancel_requested: bool = False
    connection: Any = None  # the running connection, for CancelStatement
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    subs: list[SubStatement] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.updated_at = self.created_at
        self.subs = [
            SubStatement(f"{self.id}:{n}", query, self.created_at, self.created_at)
            for n, query in enumerate(self.queries, start=1)
        ]

    def set_status(self, status: str, error: str | None = None) -> None:
        with self.lock:
            self.status, self.updated_at = status, time.time()
            if error is not None:
                self.error = error
            if status not in ACTIVE:
                self.connection = None

    def fields(self) -> dict[str, Any]:
        """DescribeStatement's answer."""
        out: dict[str, Any] = {**self.target.fields(), "ResultFormat": "JSON"}
        if self.parameters:
            out["QueryParameters"] = self.parameters
        if self.pid is not None:
            out["RedshiftPid"] = self.pid
        if not self.is_batch:
            return {**out, **self.subs[0].fields(), "Id": self.id, "Status": self.status, "UpdatedAt": self.updated_at}
        finished = [sub for sub in self.subs if sub.duration_ns >= 0]
        counted = [sub.result_rows for sub in self.subs if sub.result_rows >= 0]
        out.update(
            Id=self.id,
            Status=self.status,
            CreatedAt=self.created_at,
            UpdatedAt=self.updated_at,
            Duration=sum(sub.duration_ns for sub in finished) if self.status not in ACTIVE else -1,
            QueryString="; ".join(self.queries),
            HasResultSet=any(sub.result is not None for sub in self.subs),
            ResultRows=sum(counted) if counted else -1,
            SubStatements=[sub.fields() for sub in self.subs],
        )
        if self.error is not None:
            out["Error"] = self.error
        return out

    def summary(self) -> dict[str, Any]:
        """ListStatements' entry."""
        out: dict[str, Any] = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "IsBatchStatement": self.is_batch,
            "ResultFormat": "JSON",
        }
        if self.is_batch:
            out["QueryStrings"] = list(self.queries)
        else:
            out["QueryString"] = self.queries[0]
        if self.name:
            out["StatementName"] = self.name
        if self.parameters:
            out["QueryParameters"] = self.parameters
        if self.target.secret_arn:
            out["SecretArn"] = self.target.secret_arn
        return out


class StatementLimitError(Exception):
    """More statements running at once than the server allows."""


class StatementStore:
    """Every statement of the last day, by id; at most `max_active` of them SUBMITTED, PICKED or STARTED."""

    def __init__(self, max_active: int) -> None:
        self.max_active = max_active
        self._statements: dict[str, Statement] = {}
        self._lock = threading.Lock()

    def add(self, statement: Statement) -> None:
        with self._lock:
            self._forget_old()
            if sum(s.status in ACTIVE for s in self._statements.values()) >= self.max_active:
                raise StatementLimitError(self.max_active)
            self._statements[statement.id] = statement

    def get(self, statement_id: str) -> Statement | None:
        with self._lock:
            return self._statements.get(statement_id)

    def newest_first(self) -> list[Statement]:
        with self._lock:
            return sorted(self._statements.values(), key=lambda s: s.created_at, reverse=True)

    def _forget_old(self) -> None:
        oldest = time.time() - RETENTION_SECONDS
        for key in [k for k, s in self._statements.items() if s.status not in ACTIVE and s.updated_at < oldest]:
            del self._statements[key]
