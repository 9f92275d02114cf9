"""The six operations of the `redshift-data` API that the local endpoint serves, on the statement store.

https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_Operations.html
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local_stack.redshift_data import inputs
from local_stack.redshift_data.inputs import ApiError, Warehouse, invalid
from local_stack.redshift_data.results import page_token, records, token_offset
from local_stack.redshift_data.runner import StatementRunner
from local_stack.redshift_data.statements import (
    ACTIVE,
    FINISHED,
    Statement,
    StatementLimitError,
    StatementStore,
    SubStatement,
)

STATUSES = frozenset({"SUBMITTED", "PICKED", "STARTED", "FINISHED", "ABORTED", "FAILED", "ALL"})


class Operations:
    def __init__(self, warehouse: Warehouse, runner: StatementRunner, store: StatementStore, page_rows: int) -> None:
        self.warehouse, self.runner, self.store, self.page_rows = warehouse, runner, store, page_rows
        self.by_name: dict[str, Callable[[dict], dict]] = {
            "ExecuteStatement": self.execute_statement,
            "BatchExecuteStatement": self.batch_execute_statement,
            "DescribeStatement": self.describe_statement,
            "GetStatementResult": self.get_statement_result,
            "CancelStatement": self.cancel_statement,
            "ListStatements": self.list_statements,
        }

    def call(self, operation: str, request: dict) -> dict:
        handler = self.by_name.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException", f"Operation {operation} is not supported.")
        return handler(request)

    def execute_statement(self, request: dict) -> dict:
        sql = inputs.query(request)
        return self._submit(request, [sql], is_batch=False, autocommit=True)

    def batch_execute_statement(self, request: dict) -> dict:
        sqls = inputs.queries(request)
        return self._submit(request, sqls, is_batch=True, autocommit=inputs.execution_autocommit(request))

    def describe_statement(self, request: dict) -> dict:
        statement, sub = self._find(request)
        if sub is None:
            return statement.fields()
        return {**statement.target.fields(), **sub.fields(), "RedshiftPid": statement.pid or 0}

    def get_statement_result(self, request: dict) -> dict:
        statement, sub = self._find(request)
        if sub is None:
            if statement.is_batch:
                raise invalid(
                    f"Statement {statement.id} is a batch: get the results of its sub-statements (Id <id>:<n>)."
                )
            sub = statement.subs[0]
        if sub.status != FINISHED or statement.status in ACTIVE or sub.result is None:
            raise invalid("Query does not have result. Check its status with DescribeStatement.")
        token = request.get("NextToken")
        try:
            start = token_offset(sub.id, token) if token else 0
        except ValueError:
            raise invalid("NextToken is not a token of this statement's result.") from None
        rows = sub.result.rows
        if not 0 <= start <= len(rows):
            raise invalid("NextToken is not a token of this statement's result.")
        out: dict[str, Any] = {
            "Records": records(sub.result, start, self.page_rows),
            "ColumnMetadata": sub.result.columns,
            "TotalNumRows": len(rows),
        }
        if start + self.page_rows < len(rows):
            out["NextToken"] = page_token(sub.id, start + self.page_rows)
        return out

    def cancel_statement(self, request: dict) -> dict:
        statement, sub = self._find(request)
        if sub is not None:
            raise invalid("Cancel the batch by its own Id, not a sub-statement's.")
        if not self.runner.cancel(statement):
            raise invalid(f"Could not cancel a query that is already in {statement.status} state.")
        return {"Status": True}

    def list_statements(self, request: dict) -> dict:
        limit = inputs.max_results(request)
        status = request.get("Status") or "ALL"
        if status not in STATUSES:
            raise invalid(f"Status must be one of {', '.join(sorted(STATUSES))}.")
        name = request.get("StatementName") or ""
        wanted = {
            key: request.get(key) for key in ("Database", "ClusterIdentifier", "WorkgroupName") if request.get(key)
        }
        matching = [
            s
            for s in self.store.newest_first()
            if (status == "ALL" or s.status == status)
            and (s.name or "").startswith(name)
            and all(s.target.fields().get(key) == value for key, value in wanted.items())
        ]
        token = request.get("NextToken")
        try:
            start = token_offset("ListStatements", token) if token else 0
        except ValueError:
            raise invalid("NextToken is not a ListStatements token.") from None
        out: dict[str, Any] = {"Statements": [s.summary() for s in matching[start : start + limit]]}
        if start + limit < len(matching):
            out["NextToken"] = page_token("ListStatements", start + limit)
        return out

    # -- helpers ----------------------------------------------------------------------
    def _submit(self, request: dict, sqls: list[str], *, is_batch: bool, autocommit: bool) -> dict:
        target = inputs.target(request, self.warehouse)
        name = request.get("StatementName")
        if name is not None and not isinstance(name, str):
            raise invalid("StatementName must be a string.")
        statement = Statement(
            target, sqls, is_batch, inputs.parameters(request, sqls), name or None, autocommit=autocommit
        )
        try:
            self.store.add(statement)
        except StatementLimitError:
            raise ApiError(
                "ActiveStatementsExceededException",
                f"Active statements exceeded the allowed quota of {self.store.max_active} on the local Data API.",
            ) from None
        self.runner.submit(statement)
        return {"Id": statement.id, "CreatedAt": statement.created_at, **target.fields()}

    def _find(self, request: dict) -> tuple[Statement, SubStatement | None]:
        statement_id, number = inputs.statement_id(request)
        statement = self.store.get(statement_id)
        full_id = request["Id"]
        if statement is None or (
            number is not None and not (statement.is_batch and 1 <= number <= len(statement.subs))
        ):
            raise ApiError("ResourceNotFoundException", f"Query {full_id} does not exist.", ResourceId=full_id)
        return statement, statement.subs[number - 1] if number is not None else None
