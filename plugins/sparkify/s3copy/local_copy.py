"""COPY semantics executed on PostgreSQL: stream S3 JSON through `COPY ... FROM STDIN`.

Everything happens in the caller's transaction, so a failed load changes nothing.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from sparkify.identifiers import quote_identifier, quote_table, split_table_name
from sparkify.s3copy.converters import Column, ConversionError, as_text, converter_for
from sparkify.s3copy.errors import CopyError, LoadError, TooManyRejects
from sparkify.s3copy.field_mapping import auto_extractors, jsonpaths_extractors
from sparkify.s3copy.json_stream import iter_objects
from sparkify.s3copy.s3_objects import S3Object, list_objects, manifest_objects, open_objects, read_document
from sparkify.s3copy.spec import CopySpec

log = logging.getLogger(__name__)
_READ_ERRORS = (OSError, EOFError, zlib.error, gzip.BadGzipFile)


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
        extractors = jsonpaths_extractors(read_document(s3_client, fmt), fmt, names)
        prepare = None
    else:
        extractors, prepare = auto_extractors(names, ignore_case=fmt == "auto ignorecase")
    converters = [converter_for(c, spec.options) for c in columns]
    if objects is None:
        objects = list_source_objects(spec, s3_client)
    log.info("Loading %d object(s) into %s from s3://%s", len(objects), spec.table, spec.bucket)

    clear = spec.clear_sql()
    if clear:
        cursor.execute(clear)
    copy_sql = f"COPY {quote_table(spec.table)} ({', '.join(quote_identifier(n) for n in names)}) FROM STDIN"
    rows = 0
    with cursor.copy(copy_sql) as copy:
        for row in _rows(spec, s3_client, objects, columns, extractors, prepare, converters, rejects):
            copy.write_row(row)
            rows += 1
    if rejects:
        log.warning("Skipped %d rejected row(s) (MAXERROR %d); first: %s", len(rejects), spec.options.max_error, rejects[0])
    return rows


def list_source_objects(spec: CopySpec, s3_client: Any) -> list[S3Object]:
    """The objects a COPY of `spec` reads: the manifests' entries, or every key under each prefix."""
    if spec.options.manifest:
        return manifest_objects(s3_client, spec.bucket, spec.keys)
    return list_objects(s3_client, spec.bucket, spec.keys)


def _rows(spec, s3_client, objects: Sequence[S3Object], columns, extractors, prepare, converters, rejects) -> Iterator[list]:
    fields = list(zip(columns, extractors, converters))
    for obj, stream in open_objects(s3_client, objects, spec.options.compression):
        uri = obj.uri
        try:
            for record, line, position in iter_objects(stream, uri, invalid_char_replacement=spec.options.accept_inv_chars):
                if prepare is not None:
                    record = prepare(record)
                row = []
                for column, extract, convert in fields:
                    raw = extract(record)
                    try:
                        row.append(convert(raw))
                    except ConversionError as error:
                        row = None
                        _reject(rejects, spec.options.max_error, LoadError(
                            uri, line, position, str(error),
                            column=column.name, column_type=column.type_label, raw_value=as_text(raw),
                        ))
                        break
                if row is not None:
                    yield row
        except _READ_ERRORS as error:
            raise LoadError(uri, 0, 0, f"Could not decompress or read the object: {error}") from None


def _reject(rejects: list[LoadError], max_error: int, error: LoadError) -> None:
    rejects.append(error)
    if len(rejects) > max_error:
        if max_error == 0:
            raise error
        raise TooManyRejects(rejects, max_error)
