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
from typing import Any, NamedTuple

from sparkify.identifiers import quote_identifier, quote_table, split_table_name
from local_stack.redshift.s3copy.converters import Column, ConversionError, Converter, converter_for, raw_text
from local_stack.redshift.s3copy.errors import CopyError, LoadError, TooManyRejects
from local_stack.redshift.s3copy.field_mapping import Extractor, auto_paths, jsonpaths, lower_case_keys, path_extractor
from local_stack.redshift.s3copy.json_stream import iter_objects
from local_stack.redshift.s3copy.row_function import RowFunction, compile_row_function
from local_stack.redshift.s3copy.s3_objects import S3Object, list_objects, manifest_objects, open_objects, read_document
from sparkify.s3copy.spec import CopySpec

log = logging.getLogger(__name__)
_READ_ERRORS = (OSError, EOFError, zlib.error, gzip.BadGzipFile)
# Column types that the COPY sends in binary when a table has only these: for each of them,
# psycopg's binary form of a converter's value is the value PostgreSQL reads from its text form
# (the same integer, double, string, instant or day), and binary is several times cheaper to
# write and to read. Any other type keeps the whole COPY in text: psycopg has no binary form for
# `character`; a `real` would be rounded to 4 bytes by the client rather than by the server's
# parser (the last bit can differ); `numeric` is simply not needed here.
_BINARY_TYPES = frozenset({
    "smallint", "integer", "bigint", "double precision", "character varying", "text", "boolean",
    "timestamp without time zone", "timestamp with time zone", "date",
})


def target_columns(cursor: Any, table: str, names: Sequence[str] = ()) -> list[Column]:
    """The table's columns in order, or the named ones in the given order."""
    schema, name = split_table_name(table)
    cursor.execute(
        """
        SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
        FROM information_schema.columns
        WHERE table_name = %(table)s AND table_schema = COALESCE(%(schema)s, current_schema())
        ORDER BY ordinal_position
        """,
        {"table": name, "schema": schema},
    )
    columns = {row[0]: Column(*row) for row in cursor.fetchall()}
    if not columns:
        raise CopyError(f"Table {table} does not exist in the warehouse.")
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise CopyError(f"Table {table} has no column(s) {', '.join(unknown)}.")
    return [columns[n] for n in names] if names else list(columns.values())


def run_local_copy(
    spec: CopySpec,
    cursor: Any,
    s3_client: Any,
    rejects: list[LoadError] | None = None,
    objects: Sequence[S3Object] | None = None,
) -> int:
    """Load `spec` through `cursor` (psycopg 3) and return the number of rows loaded.

    Rows that cannot be cast are appended to `rejects`. Up to MAXERROR of them are
    skipped; one more fails the load, and the caller's transaction rolls it back.
    `objects` replaces the listing of `spec.keys` (for incremental loads).
    """
    rejects = [] if rejects is None else rejects
    columns = target_columns(cursor, spec.table, spec.columns)
    names = [c.name for c in columns]
    fmt = spec.options.json_format
    if fmt.startswith("s3://"):
        paths = jsonpaths(read_document(s3_client, fmt), fmt, names)
    else:
        paths = auto_paths(names)
    prepare = lower_case_keys if fmt == "auto ignorecase" else None
    converters = [converter_for(c, spec.options) for c in columns]
    fields = _Fields(columns, [path_extractor(p) for p in paths], converters, prepare,
                     compile_row_function(paths, columns, converters, spec.options))
    if objects is None:
        objects = list_source_objects(spec, s3_client)
    log.info("Loading %d object(s) into %s from s3://%s", len(objects), spec.table, spec.bucket)

    clear = spec.clear_sql()
    if clear:
        cursor.execute(clear)
    binary = all(c.data_type in _BINARY_TYPES for c in columns)
    copy_sql = (f"COPY {quote_table(spec.table)} ({', '.join(quote_identifier(n) for n in names)}) FROM STDIN"
                + (" (FORMAT BINARY)" if binary else ""))
    rows = 0
    with cursor.copy(copy_sql) as copy:
        if binary:
            copy.set_types([c.data_type for c in columns])
        write_row = copy.write_row
        for row in _rows(spec, s3_client, objects, fields, rejects):
            write_row(row)
            rows += 1
    if rejects:
        log.warning("Skipped %d rejected row(s) (MAXERROR %d); first: %s", len(rejects), spec.options.max_error, rejects[0])
    return rows


def list_source_objects(spec: CopySpec, s3_client: Any) -> list[S3Object]:
    """The objects a COPY of `spec` reads: the manifests' entries, or every key under each prefix."""
    if spec.options.manifest:
        return manifest_objects(s3_client, spec.bucket, spec.keys)
    return list_objects(s3_client, spec.bucket, spec.keys)


class _Fields(NamedTuple):
    """How a load makes rows: column by column (the reference, which names a bad value's column), or all at once."""

    columns: Sequence[Column]
    extractors: Sequence[Extractor]
    converters: Sequence[Converter]
    prepare: Callable[[dict], dict] | None  # applied to each record first ('auto ignorecase')
    row_function: RowFunction  # the same rows, compiled; raises where the reference would reject


def _rows(spec: CopySpec, s3_client: Any, objects: Sequence[S3Object], fields: _Fields,
          rejects: list[LoadError]) -> Iterator[tuple]:
    prepare, row_function, max_error = fields.prepare, fields.row_function, spec.options.max_error

    def reject(error: LoadError) -> None:  # a record the reader cannot parse but can skip
        _reject(rejects, max_error, error)

    for obj, stream in open_objects(s3_client, objects, spec.options.compression):
        uri = obj.uri
        try:
            for record, line, position in iter_objects(stream, uri, invalid_char_replacement=spec.options.accept_inv_chars,
                                                        on_reject=reject):
                if prepare is not None:
                    record = prepare(record)
                try:
                    row = row_function(record)
                except Exception:  # the reference decides: a reject, or (should the fast path be wrong) the row
                    row = _checked_row(record, fields, uri, line, position, max_error, rejects)
                    if row is None:
                        continue
                yield row
        except _READ_ERRORS as error:
            raise LoadError(uri, 0, 0, f"Could not decompress or read the object: {error}") from None


def _checked_row(record: dict, fields: _Fields, uri: str, line: int, position: int, max_error: int,
                 rejects: list[LoadError]) -> tuple | None:
    """The record's row, column by column; None when a value cannot be cast (the record is rejected)."""
    row = []
    for column, extract, convert in zip(fields.columns, fields.extractors, fields.converters):
        raw = extract(record)
        try:
            row.append(convert(raw))
        except Exception as error:  # a ConversionError; any other exception from hostile input is a reject too
            reason = str(error) if isinstance(error, ConversionError) else f"Cannot load the value ({error!r})"
            _reject(rejects, max_error, LoadError(
                uri, line, position, reason,
                column=column.name, column_type=column.type_label, raw_value=raw_text(raw),
            ))
            return None
    return tuple(row)


def _reject(rejects: list[LoadError], max_error: int, error: LoadError) -> None:
    rejects.append(error)
    if len(rejects) > max_error:
        if max_error == 0:
            raise error
        raise TooManyRejects(rejects, max_error)
