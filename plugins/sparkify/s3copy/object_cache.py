"""Copies of staged S3 objects kept in the warehouse, so that runs reading the same object COPY it once.

An hourly run stages the whole day file its hour lies in; a backfill's 24 runs of one day would
otherwise COPY the same file 24 times. A cached copy is a table holding one object's rows as COPY
loaded them, named `<registry>__o<hash>`: the hash covers the object's URI, ETag and size, the COPY
options, the bytes of the jsonpaths file they name and the target's columns, so a changed object,
option, jsonpaths file or table gets a new copy and never an old one. The ETag registered is the one
a HEAD after the COPY confirmed (`objects.check_unchanged`). The registry table has one row per copy:

    (table_name, s3_uri, etag, size, row_count, rejected, staged_at, used_at)

Tasks hold `LOCK TABLE` on the registry while they look copies up, create them and drop the ones
unused for longer than the retention, so concurrent runs of one day COPY its file once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sparkify.identifiers import quote_table, split_table_name
from sparkify.s3copy.objects import S3Object

COLUMNS = ("table_name", "s3_uri", "etag", "size", "row_count", "rejected", "staged_at", "used_at")


@dataclass(frozen=True)
class CachedCopy:
    """One registered copy of an object."""

    table: str
    s3_uri: str
    row_count: int
    rejected: int
    staged_at: datetime


def copy_table_name(registry: str, obj: S3Object, signature: str) -> str:
    """The copy of `obj` loaded as `signature` (COPY options and target columns) describes, in the registry's schema."""
    schema, name = split_table_name(registry)
    digest = hashlib.sha256("\n".join((obj.uri, obj.etag, str(obj.size), signature)).encode()).hexdigest()[:16]
    table = f"{name[:100]}__o{digest}"
    return f"{schema}.{table}" if schema else table


def table_signature(cursor: Any, table: str, copy_options: str, jsonpaths: bytes | None = None) -> str:
    """What a copy made for `table` with `copy_options` depends on: the options, the bytes of the
    jsonpaths file they name (None for 'auto') and the table's columns."""
    return signature(copy_options, jsonpaths, table_columns(cursor, table))


def signature(copy_options: str, jsonpaths: bytes | None, columns: Sequence[Sequence[object]]) -> str:
    """The signature of a copy: the COPY options, the SHA-256 of the jsonpaths file (the URI in the
    options does not change when the file is edited in place) and the target's column definitions."""
    mapping = "jsonpaths sha256=" + hashlib.sha256(jsonpaths).hexdigest() if jsonpaths is not None else "no jsonpaths"
    return "\n".join((copy_options, mapping, ";".join(",".join(map(str, column)) for column in columns)))


def table_columns(cursor: Any, table: str) -> list[tuple]:
    """(name, type, length, precision, scale) of each column of `table`, in order."""
    schema, name = split_table_name(table)
    cursor.execute(
        "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale "
        "FROM information_schema.columns WHERE table_name = %(name)s "
        + ("AND table_schema = %(schema)s " if schema else "AND table_schema = current_schema() ")
        + "ORDER BY ordinal_position",
        {"name": name, "schema": schema},
    )
    columns = cursor.fetchall()
    if not columns:
        raise ValueError(f"Table {table} does not exist: nothing to stage the cached copies into.")
    return [tuple(column) for column in columns]


def lock_registry(cursor: Any, registry: str) -> None:
    """Hold the registry until the transaction ends: one task at a time creates or drops copies."""
    cursor.execute(f"LOCK TABLE {quote_table(registry)}")


def registered(cursor: Any, registry: str, tables: Sequence[str]) -> dict[str, CachedCopy]:
    """The registered copies among `tables`, by table name."""
    if not tables:
        return {}
    names, placeholders = _in_list(tables)
    cursor.execute(
        f"SELECT table_name, s3_uri, row_count, rejected, staged_at FROM {quote_table(registry)} "
        f"WHERE table_name IN ({placeholders})",
        names,
    )
    bare_to_full = {_bare(t): t for t in tables}
    return {
        bare_to_full[name]: CachedCopy(bare_to_full[name], uri, int(rows), int(rejected), staged_at)
        for name, uri, rows, rejected, staged_at in cursor.fetchall()
    }


def register(cursor: Any, registry: str, copy: CachedCopy, obj: S3Object) -> None:
    """Record `copy` of `obj`, staged and used at its `staged_at`."""
    cursor.execute(
        f"INSERT INTO {quote_table(registry)} ({', '.join(COLUMNS)}) VALUES "
        "(%(table)s, %(uri)s, %(etag)s, %(size)s, %(rows)s, %(rejected)s, %(staged_at)s, %(staged_at)s)",
        {
            "table": _bare(copy.table),
            "uri": obj.uri,
            "etag": obj.etag,
            "size": obj.size,
            "rows": copy.row_count,
            "rejected": copy.rejected,
            "staged_at": copy.staged_at,
        },
    )


def mark_used(cursor: Any, registry: str, tables: Sequence[str], now: datetime) -> None:
    names, placeholders = _in_list(tables)
    cursor.execute(
        f"UPDATE {quote_table(registry)} SET used_at = %(now)s WHERE table_name IN ({placeholders})",
        {**names, "now": now},
    )


def drop_unused(cursor: Any, registry: str, cutoff: datetime) -> list[str]:
    """Drop the copies last used before `cutoff` and forget them; returns their names."""
    schema, _ = split_table_name(registry)
    cursor.execute(
        f"SELECT table_name FROM {quote_table(registry)} WHERE used_at < %(cutoff)s ORDER BY table_name",
        {"cutoff": cutoff},
    )
    dropped = [f"{schema}.{name}" if schema else name for (name,) in cursor.fetchall()]
    for table in dropped:
        cursor.execute(f"DROP TABLE IF EXISTS {quote_table(table)}")
        cursor.execute(f"DELETE FROM {quote_table(registry)} WHERE table_name = %(name)s", {"name": _bare(table)})
    return dropped


def fill_from_copies(cursor: Any, table: str, copies: Sequence[str]) -> None:
    """INSERT every row of `copies` into `table` (same columns, in order)."""
    union = " UNION ALL ".join(f"SELECT * FROM {quote_table(copy)}" for copy in copies)
    cursor.execute(f"INSERT INTO {quote_table(table)} {union}")


def _in_list(tables: Sequence[str]) -> tuple[dict[str, str], str]:
    """The bare names of `tables` as named parameters, and the placeholders of an IN list of them."""
    names = {f"t{i}": _bare(t) for i, t in enumerate(tables)}
    return names, ", ".join(f"%({p})s" for p in names)


def _bare(table: str) -> str:
    return split_table_name(table)[1]
