"""Redshift DDL, and the PostgreSQL DDL derived from it for the local stack.

Redshift is the dialect of truth. For PostgreSQL the distribution and encoding
attributes are dropped, and each SORTKEY becomes an index on the same columns.
"""

from __future__ import annotations

import re

import sqlparse

_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.\"]+)", re.IGNORECASE)
_SORTKEY = re.compile(r"(?:COMPOUND\s+|INTERLEAVED\s+)?SORTKEY\s*\(([^)]*)\)", re.IGNORECASE)
_REMOVALS = (
    re.compile(r"\bDISTSTYLE\s+(?:ALL|EVEN|KEY|AUTO)\b", re.IGNORECASE),
    re.compile(r"\bDISTKEY\s*\([^)]*\)", re.IGNORECASE),
    re.compile(r"\bENCODE\s+\w+", re.IGNORECASE),
    re.compile(r"\b(?:DISTKEY|SORTKEY)\b(?!\s*\()", re.IGNORECASE),
)


def split_statements(script: str) -> list[str]:
    statements = (sqlparse.format(s, strip_comments=True).strip() for s in sqlparse.split(script))
    return [s.rstrip(";").strip() for s in statements if s.strip()]


def to_postgres(statement: str) -> list[str]:
    """Translate one Redshift statement into the PostgreSQL statements that stand in for it."""
    table = _TABLE.search(statement)
    sort_columns = [c.strip() for m in _SORTKEY.finditer(statement) for c in m.group(1).split(",")]
    text = _SORTKEY.sub("", statement)
    for pattern in _REMOVALS:
        text = pattern.sub("", text)
    text = re.sub(r"VARCHAR\s*\(\s*MAX\s*\)", "VARCHAR(65535)", text, flags=re.IGNORECASE)
    text = re.sub(r"[ \t]+\n", "\n", text).rstrip()
    result = [text]
    if table and sort_columns:
        name = table.group(1).replace('"', "")
        index = f"{name.replace('.', '_')}_sortkey_idx"
        result.append(f'CREATE INDEX IF NOT EXISTS "{index}" ON {name} ({", ".join(sort_columns)})')
    return result


def postgres_script(script: str) -> list[str]:
    return [pg for statement in split_statements(script) for pg in to_postgres(statement)]


def schema_statements(script: str, dialect: str) -> list[str]:
    """The statements that apply `script` (Redshift DDL) on a warehouse of `dialect`."""
    return split_statements(script) if dialect == "redshift" else postgres_script(script)


_COLUMN = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s+[A-Z]", re.MULTILINE)


def table_columns(script: str) -> dict[str, list[str]]:
    """Column names per table, read from the CREATE TABLE statements of `script`."""
    tables = {}
    for statement in split_statements(script):
        table = _TABLE.search(statement)
        if table:
            body = statement[statement.index("(") + 1: statement.rindex(")")]
            columns = [c for c in _COLUMN.findall(body) if c not in ("primary", "unique", "foreign")]
            tables[table.group(1).replace('"', "")] = columns
    return tables
