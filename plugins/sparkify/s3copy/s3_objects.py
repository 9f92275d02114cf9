"""Listing and fetching the S3 objects of a COPY: Redshift's prefix rules, parallel reads."""

from __future__ import annotations

import bz2
import gzip
import io
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from sparkify.s3copy.errors import CopyError

FETCH_WORKERS = 8
WHOLE_OBJECT_LIMIT = 8 << 20  # objects up to this size are read whole by a worker thread


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    etag: str


def list_objects(client: Any, bucket: str, prefixes: Sequence[str]) -> list[S3Object]:
    """Every object whose key starts with one of `prefixes`; a prefix that matches nothing is an error."""
    objects: list[S3Object] = []
    paginator = client.get_paginator("list_objects_v2")
    for prefix in prefixes:
        found = [
            S3Object(item["Key"], item["Size"], item.get("ETag", "").strip('"'))
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
            if not item["Key"].endswith("/")
        ]
        if not found:
            raise CopyError(f"No objects match the prefix s3://{bucket}/{prefix}; nothing to load.")
        objects += found
    return objects


def read_document(client: Any, uri: str) -> bytes:
    """A whole small object, such as a jsonpaths file, by its s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:  # botocore raises many types; the message is what matters
        raise CopyError(f"Could not read {uri}: {error}") from None


def open_objects(
    client: Any, bucket: str, objects: Sequence[S3Object], compression: str | None
) -> Iterator[tuple[S3Object, IO[bytes]]]:
    """Yield a readable stream per object, in order, fetching up to FETCH_WORKERS ahead."""
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="s3-fetch") as pool:
        pending: deque[tuple[S3Object, Future]] = deque()
        queue = iter(objects)
        try:
            for obj in queue:
                pending.append((obj, pool.submit(_fetch, client, bucket, obj)))
                if len(pending) >= FETCH_WORKERS * 2:
                    yield _ready(*pending.popleft(), bucket, compression)
            while pending:
                yield _ready(*pending.popleft(), bucket, compression)
        finally:
            for _, future in pending:
                future.cancel()


def _fetch(client: Any, bucket: str, obj: S3Object) -> IO[bytes]:
    body = client.get_object(Bucket=bucket, Key=obj.key)["Body"]
    if obj.size <= WHOLE_OBJECT_LIMIT:
        data = body.read()
        if len(data) != obj.size:
            raise CopyError(
                f"s3://{bucket}/{obj.key} changed while it was read: listed {obj.size} bytes, got {len(data)}."
            )
        return io.BytesIO(data)
    return body  # large objects stream through the parser


def _ready(obj: S3Object, future: Future, bucket: str, compression: str | None) -> tuple[S3Object, IO[bytes]]:
    try:
        stream = future.result()
    except CopyError:
        raise
    except Exception as error:
        raise CopyError(f"Could not read s3://{bucket}/{obj.key}: {error}") from None
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    elif compression == "bzip2":
        stream = bz2.BZ2File(stream, mode="rb")
    elif compression == "zstd":
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(stream)
    return obj, stream
