"""Incremental staging: skip objects a ledger table already records, and note what was staged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sparkify.identifiers import quote_table
from sparkify.s3copy.objects import S3Object


def unloaded_objects(cursor: Any, ledger_table: str, objects: Sequence[S3Object]) -> list[S3Object]:
    """The objects whose key is not in the ledger, or whose ETag or size changed since."""
    cursor.execute(f"SELECT s3_key, etag, size FROM {quote_table(ledger_table)}")
    known = {key: (etag, size) for key, etag, size in cursor.fetchall()}
    return [o for o in objects if known.get(o.key) != (o.etag, o.size)]


# Rows per INSERT in record_staged. A driver's executemany is one round trip per row
# (redshift_connector's is), which for 20,000 song files is 20,000 round trips; multi-row INSERTs
# of this many rows (3 parameters each, far below the drivers' 32,767) make it 20.
INSERT_BATCH_ROWS = 1000


def record_staged(cursor: Any, table: str, objects: Sequence[S3Object]) -> None:
    """Replace `table`'s rows with the staged objects (s3_key, etag, size), INSERT_BATCH_ROWS per INSERT."""
    cursor.execute(f"DELETE FROM {quote_table(table)}")
    insert_in_batches(cursor, table, ("s3_key", "etag", "size"), [(o.key, o.etag, o.size) for o in objects])


def insert_in_batches(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT `rows` (values of `columns`, trusted names) into `table`, INSERT_BATCH_ROWS per multi-row INSERT."""
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), INSERT_BATCH_ROWS):
        batch = rows[start : start + INSERT_BATCH_ROWS]
        cursor.execute(
            f"INSERT INTO {quote_table(table)} ({', '.join(columns)}) VALUES " + ", ".join([placeholders] * len(batch)),
            [value for row in batch for value in row],
        )
