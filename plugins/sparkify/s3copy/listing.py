"""A listing of an S3 source kept in the warehouse: runs close together list the source once, and
the comparison with the ledger runs in the warehouse, so that it costs what the new objects cost.

The listing table has the columns (source, s3_key, etag, size, listed_at); `source` names what
was listed (the `s3://bucket/key` URIs the task was given), and every row of one listing has the
same `listed_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sparkify.identifiers import quote_table
from sparkify.s3copy.objects import S3Object
from sparkify.warehouse import insert_in_batches

MAX_SOURCE_LENGTH = 1024  # the width of the listing table's source column


def listing_source(uris: Sequence[str]) -> str:
    """What a listing is of: the source URIs, space-separated (keys never contain spaces here)."""
    source = " ".join(uris)
    if len(source) > MAX_SOURCE_LENGTH:
        raise ValueError(f"The source to list is {len(source)} characters; a listing table keeps at most 1,024.")
    return source


def lock_listing(cursor: Any, table: str) -> None:
    """Hold `table` until the transaction ends: one task lists at a time, the others wait and reuse its listing."""
    cursor.execute(f"LOCK TABLE {quote_table(table)}")


def listed_at(cursor: Any, table: str, source: str) -> datetime | None:
    """When `source` was last listed into `table`, or None."""
    cursor.execute(f"SELECT MAX(listed_at) FROM {quote_table(table)} WHERE source = %(source)s", {"source": source})
    row = cursor.fetchone()
    return row[0] if row else None


def is_recent(when: datetime | None, now: datetime, max_age: timedelta) -> bool:
    """A listing made at `when` may be reused at `now`: younger than `max_age` and not in the future."""
    return when is not None and max_age > timedelta(0) and now - max_age < when <= now


def record_listing(cursor: Any, table: str, source: str, objects: Sequence[S3Object], when: datetime) -> None:
    """Replace `source`'s listing in `table` with `objects`, INSERT_BATCH_ROWS per INSERT."""
    cursor.execute(f"DELETE FROM {quote_table(table)} WHERE source = %(source)s", {"source": source})
    rows = [(source, o.key, o.etag, o.size, when) for o in objects]
    insert_in_batches(cursor, table, ("source", "s3_key", "etag", "size", "listed_at"), rows)


def unloaded_listed_objects(cursor: Any, table: str, ledger_table: str, source: str, bucket: str) -> list[S3Object]:
    """The objects of `source`'s listing whose key the ledger lacks, or whose ETag or size changed, in key order."""
    listing, ledger = quote_table(table), quote_table(ledger_table)
    cursor.execute(
        f"SELECT l.s3_key, l.etag, l.size FROM {listing} l LEFT JOIN {ledger} g ON g.s3_key = l.s3_key "
        "WHERE l.source = %(source)s AND (g.s3_key IS NULL OR g.etag <> l.etag OR g.size <> l.size) "
        "ORDER BY l.s3_key",
        {"source": source},
    )
    return [S3Object(bucket=bucket, key=key, size=int(size), etag=etag) for key, etag, size in cursor.fetchall()]
