"""A finished statement's result set, kept as PostgreSQL's text values, and served in the Data API's typed shapes.

`GetStatementResult` returns each value as one member of a `Field`: integers as `longValue`, floating
point as `doubleValue`, booleans as `booleanValue`, NULL as `isNull`, and everything else (DECIMAL,
dates, timestamps, text) as `stringValue` in the warehouse's own text form.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from psycopg import postgres
from psycopg.pq.abc import PGresult

_LONG = frozenset({"int2", "int4", "int8"})
_DOUBLE = frozenset({"float4", "float8"})
_TEXT = frozenset({"text", "varchar", "bpchar", "char", "name"})
_SIGNED = _LONG | _DOUBLE | {"numeric"}
NUMERIC_OID = 1700


@dataclass(frozen=True)
class ResultSet:
    columns: list[dict]  # ColumnMetadata
    type_names: list[str]
    rows: list[list[str | None]]

    @property
    def size(self) -> int:
        """The result's size in bytes (DescribeStatement's ResultSize): its values as text."""
        return sum(len(value.encode()) for row in self.rows for value in row if value is not None)


def result_set(result: PGresult) -> ResultSet:
    """The rows and column metadata of a text-format PostgreSQL result."""
    type_names = [_type_name(result.ftype(i)) for i in range(result.nfields)]
    columns = [_column(result, i, type_names[i]) for i in range(result.nfields)]
    rows = [
        [None if (value := result.get_value(r, c)) is None else value.decode() for c in range(result.nfields)]
        for r in range(result.ntuples)
    ]
    return ResultSet(columns, type_names, rows)


def field(type_name: str, value: str | None) -> dict:
    """One value as the API's `Field`."""
    if value is None:
        return {"isNull": True}
    if type_name in _LONG:
        return {"longValue": int(value)}
    if type_name in _DOUBLE:
        return {"doubleValue": float(value)}
    if type_name == "bool":
        return {"booleanValue": value == "t"}
    return {"stringValue": value}


def records(result: ResultSet, start: int, count: int) -> list[list[dict]]:
    return [
        [field(name, value) for name, value in zip(result.type_names, row)]
        for row in result.rows[start : start + count]
    ]


def page_token(statement_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{statement_id}|{offset}".encode()).decode()


def token_offset(statement_id: str, token: str) -> int:
    """The row offset a NextToken of `statement_id` stands for; ValueError for any other token."""
    try:
        owner, _, offset = base64.urlsafe_b64decode(token.encode()).decode().rpartition("|")
        if owner != statement_id:
            raise ValueError(token)
        return int(offset)
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(token) from error


def _type_name(oid: int) -> str:
    info = postgres.types.get(oid)
    return info.name if info is not None else "unknown"


def _column(result: PGresult, index: int, type_name: str) -> dict:
    name = (result.fname(index) or b"").decode()
    modifier = result.fmod(index)
    precision, scale = 0, 0
    if result.ftype(index) == NUMERIC_OID and modifier >= 4:
        precision, scale = (modifier - 4) >> 16, (modifier - 4) & 0xFFFF
    elif type_name in ("varchar", "bpchar") and modifier >= 4:
        precision = modifier - 4
    return {
        "name": name,
        "label": name,
        "typeName": type_name,
        "isCaseSensitive": type_name in _TEXT,
        "isCurrency": False,
        "isSigned": type_name in _SIGNED,
        "nullable": 1,
        "precision": precision,
        "scale": scale,
        "length": max(result.fsize(index), 0),
        "schemaName": "",
        "tableName": "",
    }
