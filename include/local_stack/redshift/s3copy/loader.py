"""COPY semantics executed on PostgreSQL: stream S3 JSON through `COPY ... FROM STDIN`.

Everything happens in the caller's transaction, so a failed load changes nothing. Each record
becomes a row through one compiled function (`row_function`); a record it cannot make is redone
column by column, which names the bad value's column for the reject.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.s3copy.converters import Column, ConversionError, Converter, converter_for, raw_text
from local_stack.redshift.s3copy.errors import CopyError, LoadError, TooManyRejects
from local_stack.redshift.s3copy.field_mapping import Extractor, auto_paths, jsonpaths, lower_case_keys, path_extractor
from local_stack.redshift.s3copy.json_stream import iter_objects
from local_stack.redshift.s3copy.row_function import RowFunction, compile_row_function
from local_stack.redshift.s3copy.s3_objects import list_objects, manifest_objects, open_objects, read_document
from sparkify.s3copy.objects import S3Object

log = logging.getLogger(__name__)
_READ_ERRORS = (OSError, EOFError, zlib.error, gzip.BadGzipFile)
# Column types that the COPY sends in binary when a table has only these: for each of them,
# psycopg's binary form of a converter's value is the value PostgreSQL reads from its text form
# (the same integer, double, string, instant or day), and binary is several times cheaper to
# write and to read. Any other type keeps the whole COPY in text: psycopg has no binary form for
# `character`; a `real` would be rounded to 4 bytes by the client rather than by the server's
# parser (the last bit can differ); `numeric` is simply not needed here.
_BINARY_TYPES = frozenset(
    {
        "smallint",
        "integer",
        "bigint",
        "double precision",
        "character varying",
        "text",
        "boolean",
        "timestamp without time zone",
        "timestamp with time zone",
        "date",
    }
)


def columns_query(table: str) -> str:
    """The query listing `table`'s columns in order (name, type, length, precision, scale, identity, table oid).

    The table is found as the session finds it (`to_regclass`): an unqualified name on the search_path,
    where the session's temporary schema comes first, so a temporary table hides a permanent one of
    the same name, as on Redshift."""
    return (
        "WITH r AS (SELECT n.nspname, c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.oid = to_regclass({_literal(quote_table(table))})) "
        "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, is_identity, "
        "(SELECT oid FROM r) FROM information_schema.columns "
        # constants for the view (a join to it would not be pushed down, and costs 15 times as much)
        "WHERE table_schema = (SELECT nspname FROM r) AND table_name = (SELECT relname FROM r) "
        "ORDER BY ordinal_position"
    )


def table_oid(rows: Sequence[Sequence[Any]]) -> int | None:
    """The oid of the table whose `columns_query` rows these are (None: no such table)."""
    return int(rows[0][6]) if rows and len(rows[0]) > 6 and rows[0][6] is not None else None


def target_columns(
    rows: Sequence[Sequence[Any]], table: str, names: Sequence[str] = (), explicit_ids: bool = False
) -> list[Column]:
    """The columns a COPY loads, from `columns_query` rows: the named ones in the given order, or the table's.

    As on Redshift, IDENTITY columns are left out of a COPY without a column list (they take their
    generated values) unless EXPLICIT_IDS is given; a column list names them only with EXPLICIT_IDS.
    """
    columns = {row[0]: Column(row[0], row[1], *(int(v) if v is not None else None for v in row[2:5])) for row in rows}
    if not columns:
        raise CopyError(f"Table {table} does not exist in the warehouse.")
    identity = [row[0] for row in rows if len(row) > 5 and row[5] == "YES"]
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise CopyError(f"Table {table} has no column(s) {', '.join(unknown)}.")
    if not names:
        return [c for c in columns.values() if explicit_ids or c.name not in identity]
    listed = [n for n in identity if n in names]
    if listed and not explicit_ids:
        raise CopyError(
            f"The column list names the IDENTITY column(s) {', '.join(listed)} of table {table}: "
            "give EXPLICIT_IDS to load them from the data, or leave them out of the list."
        )
    missing = [n for n in identity if n not in names]
    if explicit_ids and missing:
        raise CopyError(
            f"EXPLICIT_IDS needs the IDENTITY column(s) {', '.join(missing)} of table {table} in the column list."
        )
    return [columns[n] for n in names]


class FileScan(NamedTuple):
    """One file a COPY read to its end (stl_load_commits): its URI, the last line of its last record
    (rejected ones included), its size in S3 and when it was done."""

    uri: str
    lines: int
    size: int
    done: datetime


class Load(NamedTuple):
    """A COPY ready to run: what it reads and how each record becomes a row."""

    command: CopyCommand
    objects: Sequence[S3Object]
    fields: _Fields
    binary: bool

    @property
    def copy_from_stdin(self) -> str:
        """The PostgreSQL statement that receives the rows."""
        names = ", ".join(quote_identifier(c.name) for c in self.fields.columns)
        return f"COPY {quote_table(self.command.table)} ({names}) FROM STDIN" + (
            " (FORMAT BINARY)" if self.binary else ""
        )

    def rows(self, s3_client: Any, rejects: list[LoadError], scanned: list[FileScan] | None = None) -> Iterator[tuple]:
        """The rows to load, in order; rejected records go to `rejects` (MAXERROR applies), and each file read
        to its end to `scanned`."""
        return _rows(self.command, s3_client, self.objects, self.fields, rejects, scanned)


def prepare_load(command: CopyCommand, columns: Sequence[Column], s3_client: Any) -> Load:
    """Read the jsonpaths and list the objects (or read the manifest): everything before the first row."""
    names = [c.name for c in columns]
    fmt = command.options.json_format
    if fmt.startswith("s3://"):
        paths = jsonpaths(read_document(s3_client, fmt), fmt, names)
    else:
        paths = auto_paths(names)
    prepare = lower_case_keys if fmt == "auto ignorecase" else None
    converters = [converter_for(c, command.options, command.options.roundec) for c in columns]
    fields = _Fields(
        columns,
        [path_extractor(p) for p in paths],
        converters,
        prepare,
        compile_row_function(paths, columns, converters, command.options),
    )
    objects = source_objects(command, s3_client)
    log.info("Loading %d object(s) into %s from %s", len(objects), command.table, command.source)
    return Load(command, objects, fields, all(c.data_type in _BINARY_TYPES for c in columns))


def write_rows(copy: Any, load: Load, rows: Iterator[tuple]) -> int:
    """Write `rows` to a psycopg `Copy` opened for `load.copy_from_stdin`; returns how many."""
    if load.binary:
        copy.set_types([c.data_type for c in load.fields.columns])
    write_row = copy.write_row
    count = 0
    for row in rows:
        write_row(row)
        count += 1
    return count


def run_local_copy(command: CopyCommand, cursor: Any, s3_client: Any, rejects: list[LoadError] | None = None) -> int:
    """The loader called directly: load `command` through a psycopg 3 cursor, in its transaction.

    The emulator runs the same steps inside a client's session; this is the baseline it is
    compared with (tests and `make bench`)."""
    rejects = [] if rejects is None else rejects
    cursor.execute(columns_query(command.table))
    columns = target_columns(cursor.fetchall(), command.table, command.columns, command.options.explicit_ids)
    load = prepare_load(command, columns, s3_client)
    with cursor.copy(load.copy_from_stdin) as copy:
        return write_rows(copy, load, load.rows(s3_client, rejects))


def source_objects(command: CopyCommand, s3_client: Any) -> list[S3Object]:
    """The objects a COPY reads: the manifest's entries, or every key under the prefix."""
    if command.options.manifest:
        return manifest_objects(s3_client, command.bucket, (command.key,))
    return list_objects(s3_client, command.bucket, (command.key,))


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_table(table: str) -> str:
    """`schema.table` or `table` (as the COPY parser gives it), quoted for PostgreSQL."""
    schema, _, name = table.rpartition(".")
    return f"{quote_identifier(schema)}.{quote_identifier(name)}" if schema else quote_identifier(name)


class _Fields(NamedTuple):
    """How a load makes rows: column by column (the reference, which names a bad value's column), or all at once."""

    columns: Sequence[Column]
    extractors: Sequence[Extractor]
    converters: Sequence[Converter]
    prepare: Callable[[dict], dict] | None  # applied to each record first ('auto ignorecase')
    row_function: RowFunction  # the same rows, compiled; raises where the reference would reject


def _rows(
    command: CopyCommand,
    s3_client: Any,
    objects: Sequence[S3Object],
    fields: _Fields,
    rejects: list[LoadError],
    scanned: list[FileScan] | None = None,
) -> Iterator[tuple]:
    prepare, row_function, max_error = fields.prepare, fields.row_function, command.options.max_error
    last_line = 0

    def reject(error: LoadError) -> None:  # a record the reader cannot parse but can skip
        nonlocal last_line
        last_line = max(last_line, error.line)
        _reject(rejects, max_error, error)

    for obj, stream in open_objects(s3_client, objects, command.options.compression):
        uri = obj.uri
        last_line = line = 0
        try:
            for record, line, position in iter_objects(
                stream, uri, invalid_char_replacement=command.options.accept_inv_chars, on_reject=reject
            ):
                if prepare is not None:
                    record = prepare(record)
                try:
                    row: tuple | None = row_function(record)
                except Exception:  # the reference decides: a reject, or (should the fast path be wrong) the row
                    row = _checked_row(record, fields, uri, line, position, max_error, rejects)
                if row is not None:  # None: rejected
                    yield row
        except _READ_ERRORS as error:
            raise LoadError(uri, 0, 0, f"Could not decompress or read the object: {error}") from None
        if scanned is not None:
            scanned.append(
                FileScan(uri, max(line, last_line), obj.size, datetime.now(timezone.utc).replace(tzinfo=None))
            )


def _checked_row(
    record: dict, fields: _Fields, uri: str, line: int, position: int, max_error: int, rejects: list[LoadError]
) -> tuple | None:
    """The record's row, column by column; None when a value cannot be cast (the record is rejected)."""
    row = []
    for column, extract, convert in zip(fields.columns, fields.extractors, fields.converters):
        raw = extract(record)
        try:
            row.append(convert(raw))
        except Exception as error:  # a ConversionError; any other exception from hostile input is a reject too
            reason = str(error) if isinstance(error, ConversionError) else f"Cannot load the value ({error!r})"
            _reject(
                rejects,
                max_error,
                LoadError(
                    uri,
                    line,
                    position,
                    reason,
                    column=column.name,
                    column_type=column.type_label,
                    raw_value=raw_text(raw),
                ),
            )
            return None
    return tuple(row)


def _reject(rejects: list[LoadError], max_error: int, error: LoadError) -> None:
    rejects.append(error)
    if len(rejects) > max_error:
        if max_error == 0:
            raise error
        raise TooManyRejects(rejects, max_error)
