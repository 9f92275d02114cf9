"""The warehouse's DDL (include/sql/create_tables.sql, Redshift's dialect): statements and table columns."""

from __future__ import annotations

import re

import sqlparse

_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.\"]+)", re.IGNORECASE)
_COLUMN = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s+[A-Z]", re.MULTILINE)


def split_statements(script: str) -> list[str]:
    statements = (sqlparse.format(s, strip_comments=True).strip() for s in sqlparse.split(script))
    return [s.rstrip(";").strip() for s in statements if s.strip()]


def table_columns(script: str) -> dict[str, list[str]]:
    """Column names per table, read from the CREATE TABLE statements of `script`."""
    tables = {}
    for statement in split_statements(script):
        table = _TABLE.search(statement)
        if table:
            body = statement[statement.index("(") + 1 : statement.rindex(")")]
            columns = [c for c in _COLUMN.findall(body) if c not in ("primary", "unique", "foreign")]
            tables[table.group(1).replace('"', "")] = columns
    return tables
