"""Incremental staging: skip objects a ledger table already records, and note what was staged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sparkify.identifiers import quote_table
from sparkify.s3copy.objects import S3Object
from sparkify.warehouse import insert_in_batches


def unloaded_objects(cursor: Any, ledger_table: str, objects: Sequence[S3Object]) -> list[S3Object]:
    """The objects whose key is not in the ledger, or whose ETag or size changed since."""
    cursor.execute(f"SELECT s3_key, etag, size FROM {quote_table(ledger_table)}")
    known = {key: (etag, size) for key, etag, size in cursor.fetchall()}
    return [o for o in objects if known.get(o.key) != (o.etag, o.size)]


def record_staged(cursor: Any, table: str, objects: Sequence[S3Object]) -> None:
    """Replace `table`'s rows with the staged objects (s3_key, etag, size), in multi-row INSERTs."""
    cursor.execute(f"DELETE FROM {quote_table(table)}")
    insert_in_batches(cursor, table, ("s3_key", "etag", "size"), [(o.key, o.etag, o.size) for o in objects])
