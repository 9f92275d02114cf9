"""Checks of the Data API's requests, with its errors, and the binding of named parameters (`:name`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from local_stack.redshift.sql_tokens import NUMBER, PUNCT, WORD, tokenize
from local_stack.redshift_data.statements import Target

_ID = re.compile(r"[a-z0-9]{8}(?:-[a-z0-9]{4}){3}-[a-z0-9]{12}")
_SUB_ID = re.compile(rf"({_ID.pattern})(?::(\d{{1,2}}))?")
_PARAMETER_NAME = re.compile(r"[0-9a-zA-Z_]+")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+")
MAX_BATCH = 40  # SqlList's maximum


class ApiError(Exception):
    """An error in the API's shape: its `__type`, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, **members: str) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.members = code, message, status, members


def invalid(message: str) -> ApiError:
    return ApiError("ValidationException", message)


@dataclass(frozen=True)
class Warehouse:
    """The names the local endpoint answers to: one workgroup, one cluster and its one database user."""

    workgroup_name: str
    cluster_identifier: str
    db_user: str


def target(request: dict, warehouse: Warehouse) -> Target:
    """Database plus WorkgroupName, ClusterIdentifier with DbUser or SecretArn, or SecretArn alone."""
    database, workgroup, cluster = (_text(request, key) for key in ("Database", "WorkgroupName", "ClusterIdentifier"))
    user, secret = _text(request, "DbUser"), _text(request, "SecretArn")
    if request.get("SessionId") is not None or request.get("SessionKeepAliveSeconds") is not None:
        raise invalid("Sessions (SessionId, SessionKeepAliveSeconds) are not supported by the local Data API.")
    if request.get("ResultFormat") not in (None, "JSON"):
        raise invalid("The local Data API returns results as JSON only (ResultFormat JSON).")
    if not database:
        raise invalid("Database is required.")
    if workgroup and cluster:
        raise invalid("Specify either WorkgroupName or ClusterIdentifier, not both.")
    if workgroup and user:
        raise invalid("DbUser is not supported with WorkgroupName: use SecretArn or the caller's IAM identity.")
    if user and secret:
        raise invalid("Specify either DbUser or SecretArn, not both.")
    if not (workgroup or cluster or secret):
        raise invalid("Specify WorkgroupName, ClusterIdentifier with DbUser or SecretArn, or SecretArn.")
    if cluster and not (user or secret):
        raise invalid("ClusterIdentifier needs DbUser (temporary credentials) or SecretArn.")
    if workgroup and workgroup != warehouse.workgroup_name:
        raise invalid(f"Workgroup {workgroup} not found.")
    if cluster and cluster != warehouse.cluster_identifier:
        raise invalid(f"Cluster {cluster} not found.")
    if user and user != warehouse.db_user:
        raise invalid(f"Database user {user} does not exist in cluster {cluster}.")
    if secret and not _SECRET_ARN.fullmatch(secret):
        raise invalid("SecretArn is not the ARN of a Secrets Manager secret.")
    return Target(database, workgroup, cluster, user, secret)


def query(request: dict) -> str:
    sql = request.get("Sql")
    if not isinstance(sql, str) or not sql.strip():
        raise invalid("Sql is required.")
    return sql


def queries(request: dict) -> list[str]:
    sqls = request.get("Sqls")
    if not isinstance(sqls, list) or not 1 <= len(sqls) <= MAX_BATCH:
        raise invalid(f"Sqls must be a list of 1 to {MAX_BATCH} statements.")
    if not all(isinstance(sql, str) and sql.strip() for sql in sqls):
        raise invalid("Every statement in Sqls must be non-empty SQL.")
    return sqls


def parameters(request: dict, sqls: list[str]) -> list[dict] | None:
    """The request's Parameters, each named in one of `sqls`, which name no parameter without a value."""
    given = request.get("Parameters")
    named = {name for sql in sqls for _, _, name in _placeholders(sql)}
    if given is None:
        if named:
            raise invalid(f"No value for the parameter(s) {', '.join(sorted(named))}.")
        return None
    if not isinstance(given, list) or not given:
        raise invalid("Parameters must be a non-empty list.")
    values: dict[str, str] = {}
    for item in given:
        name, value = (item.get("name"), item.get("value")) if isinstance(item, dict) else (None, None)
        if not isinstance(name, str) or not _PARAMETER_NAME.fullmatch(name) or not isinstance(value, str) or not value:
            raise invalid("Each parameter needs a name ([0-9a-zA-Z_]+) and a non-empty string value.")
        if name in values:
            raise invalid(f"The parameter {name} is given twice.")
        values[name] = value
    if named - values.keys():
        raise invalid(f"No value for the parameter(s) {', '.join(sorted(named - values.keys()))}.")
    if values.keys() - named:
        raise invalid(f"The parameter(s) {', '.join(sorted(values.keys() - named))} are not in the SQL.")
    return [{"name": name, "value": value} for name, value in values.items()]


def execution_autocommit(request: dict) -> bool:
    mode = request.get("ExecutionMode")
    if mode not in (None, "TRANSACTION", "AUTO_COMMIT"):
        raise invalid("ExecutionMode must be TRANSACTION or AUTO_COMMIT.")
    return mode == "AUTO_COMMIT"


def statement_id(request: dict) -> tuple[str, int | None]:
    """The statement's id and, for `<id>:<n>`, its sub-statement's number."""
    value = request.get("Id")
    match = _SUB_ID.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise invalid("Id must be a statement id (a UUID, or <UUID>:<n> for a sub-statement).")
    return match[1], int(match[2]) if match[2] else None


def max_results(request: dict) -> int:
    value = request.get("MaxResults", 0)
    if not isinstance(value, int) or not 0 <= value <= 100:
        raise invalid("MaxResults must be from 0 to 100.")
    return value or 100


def bind(sql: str, values: list[dict] | None) -> tuple[str, dict[str, str] | None]:
    """`sql` with its `:name` parameters as psycopg's placeholders, and their values (sent untyped, so that
    the warehouse infers each type, as the Data API does)."""
    if not values:
        return sql, None
    parts, last = [], 0
    for start, end, name in _placeholders(sql):
        parts += [sql[last:start].replace("%", "%%"), f"%({name})s"]
        last = end
    parts.append(sql[last:].replace("%", "%%"))
    return "".join(parts), {item["name"]: item["value"] for item in values}


def several_statements(sql: str) -> bool:
    """Whether `sql` has a statement after a `;`."""
    tokens = tokenize(sql)
    first_end = next((i for i, token in enumerate(tokens) if token.is_punct(";")), len(tokens))
    return any(not token.is_punct(";") for token in tokens[first_end:])


def _placeholders(sql: str) -> list[tuple[int, int, str]]:
    """Each `:name` outside literals, quoted names and comments (not a `::` cast): its span and name."""
    tokens = tokenize(sql)
    found = []
    for i, token in enumerate(tokens[:-1]):
        after = tokens[i + 1]
        if not token.is_punct(":") or after.start != token.end or after.kind not in (WORD, NUMBER):
            continue
        if i and tokens[i - 1].kind == PUNCT and tokens[i - 1].value == ":" and tokens[i - 1].end == token.start:
            continue
        if (after.kind == WORD or after.value.isdigit()) and _PARAMETER_NAME.fullmatch(after.value):
            found.append((token.start, after.end, after.value))
    return found


def _text(request: dict, key: str) -> str | None:
    value: Any = request.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{key} must be a string.")
    return value or None
