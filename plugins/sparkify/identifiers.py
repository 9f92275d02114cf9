"""SQL identifiers: validated against a strict pattern, then double-quoted."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]{0,126}")


def validate_identifier(name: str, what: str = "identifier") -> str:
    """Return `name` if it is a plain lower-case SQL identifier, else raise ValueError."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ValueError(
            f"Invalid {what} {name!r}: use lower-case letters, digits and underscores, "
            f"starting with a letter or underscore."
        )
    return name


def quote_identifier(name: str, what: str = "identifier") -> str:
    return f'"{validate_identifier(name, what)}"'


def split_table_name(name: str) -> tuple[str | None, str]:
    """Split 'schema.table' or 'table' into validated parts."""
    parts = name.split(".") if isinstance(name, str) else [name]
    if len(parts) == 1:
        return None, validate_identifier(parts[0], "table name")
    if len(parts) == 2:
        return validate_identifier(parts[0], "schema name"), validate_identifier(parts[1], "table name")
    raise ValueError(f"Invalid table name {name!r}: expected 'table' or 'schema.table'.")


def quote_table(name: str) -> str:
    schema, table = split_table_name(name)
    return f'"{schema}"."{table}"' if schema else f'"{table}"'
