"""The warehouse's DDL (include/sql/create_tables.sql, Redshift's dialect): statements, tables and columns."""

from __future__ import annotations

import logging
import re
from typing import Any

_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.\"]+)\s*\(", re.IGNORECASE)
_COLUMN = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s+[A-Z]", re.MULTILINE)
_STRING = r"'(?:[^']|'')*'"  # a quoted SQL string, '' escaping a quote
# A quoted string (kept as it is), a line comment or a block comment (dropped).
_COMMENT = re.compile(rf"({_STRING})|--[^\n]*|/\*.*?\*/", re.DOTALL)
log = logging.getLogger(__name__)


def split_statements(script: str) -> list[str]:
    import sqlparse  # a task-time import: DAG files import this module

    statements = (sqlparse.format(s, strip_comments=True).strip() for s in sqlparse.split(script))
    return [s.rstrip(";").strip() for s in statements if s.strip()]


def table_columns(script: str) -> dict[str, list[str]]:
    """Column names per table, read from the CREATE TABLE statements of `script`."""
    text = _COMMENT.sub(lambda m: m.group(1) or "", script)
    tables = {}
    for table in _TABLE.finditer(text):
        body = text[table.end() : _closing_parenthesis(text, table.end())]
        columns = [c for c in _COLUMN.findall(body) if c not in ("primary", "unique", "foreign")]
        tables[table.group(1).replace('"', "")] = columns
    return tables


def _closing_parenthesis(text: str, start: int) -> int:
    """The index of the parenthesis that closes the one just before `start`."""
    depth = 1
    for match in re.finditer(rf"{_STRING}|[()]", text[start:]):
        depth += {"(": 1, ")": -1}.get(match.group(), 0)
        if depth == 0:
            return start + match.start()
    raise ValueError(f"unbalanced parentheses in the CREATE TABLE statement at {text[start - 60 : start]!r}")


def missing_tables(cursor: Any, script: str) -> list[str]:
    """The tables of `script`'s CREATE TABLE statements that the warehouse's current schema lacks."""
    return absent_tables(cursor, sorted(table_columns(script)))


def absent_tables(cursor: Any, names: list[str]) -> list[str]:
    """Those of `names` that are not tables of the warehouse's current schema, in their order."""
    if not names:
        return []
    placeholders = ", ".join(f"%(t{n})s" for n in range(len(names)))
    cursor.execute(
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_schema = current_schema() AND table_name IN ({placeholders})",
        {f"t{n}": name for n, name in enumerate(names)},
    )
    present = {row[0] for row in cursor.fetchall()}
    return [name for name in names if name not in present]


def create_missing_tables(hook: Any, script: str) -> list[str]:
    """Run `script` (idempotent DDL) when one of its tables is missing; returns the tables that were missing.

    Most runs find every table and run one catalogue query instead of the whole script. A table whose
    name is schema-qualified or quoted in another case is never found, so the script then always runs.
    """
    from sparkify.warehouse import transaction

    with transaction(hook) as cursor:
        missing = missing_tables(cursor, script)
    if missing:  # the first run, or a table added since: the whole script, in one transaction
        log.info("Creating the missing tables: %s", ", ".join(missing))
        hook.run(split_statements(script))
    return missing
