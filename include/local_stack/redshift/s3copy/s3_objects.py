"""Listing and fetching the S3 objects of a COPY: Redshift's prefix rules, parallel reads."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import logging
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from local_stack.redshift.s3copy.errors import CopyError, LoadError, json_problem
from sparkify.s3copy.objects import S3Object

log = logging.getLogger(__name__)
FETCH_WORKERS = 16  # as many GETs in flight as the floor's threads; the client pool has 32 connections
WHOLE_OBJECT_LIMIT = 8 << 20  # objects up to this size are read whole by a worker thread
PREFETCH_BYTES = 32 << 20  # at most this much of whole objects fetched ahead (a single larger one is fetched alone)
# The most a compressed object may decompress to (GZIP, BZIP2, ZSTD): beyond it the load fails, naming the
# object, so that a compression bomb costs bounded time (the reader's memory is bounded anyway). 4 GiB is
# far beyond any file of this pipeline; raise it here, or per call with open_objects(max_decompressed_bytes=).
MAX_DECOMPRESSED_BYTES = 4 << 30


@dataclass(frozen=True)
class ManifestEntry(S3Object):
    """A manifest entry taken on its meta.content_length, unchecked until it is read: the manifest
    that lists it, and whether it is mandatory (a missing optional entry is skipped)."""

    manifest: str
    mandatory: bool


def list_objects(client: Any, bucket: str, prefixes: Sequence[str]) -> list[S3Object]:
    """Every object whose key starts with one of `prefixes`; a prefix that matches nothing is an error."""
    objects: list[S3Object] = []
    paginator = client.get_paginator("list_objects_v2")
    for prefix in prefixes:
        try:
            found = [
                S3Object(bucket, item["Key"], item["Size"], item.get("ETag", "").strip('"'))
                for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
                for item in page.get("Contents", [])
                if not item["Key"].endswith("/")
            ]
        except Exception as error:  # botocore raises many types; the message is what matters
            raise CopyError(f"Could not list s3://{bucket}/{prefix}: {error}") from None
        if not found:
            raise CopyError(f"No objects match the prefix s3://{bucket}/{prefix}; nothing to load.")
        objects += found
    return objects


def manifest_objects(client: Any, bucket: str, manifest_keys: Sequence[str]) -> list[S3Object]:
    """The objects listed by manifest files: a missing mandatory entry is an error, a missing optional one is skipped.

    An entry with `meta.content_length` (as the stage operator writes them) is taken at its word,
    as Redshift does: it is not looked up before the load, and whether it exists is known when it
    is read (`open_objects`). The others are looked up (HEAD), FETCH_WORKERS at a time."""
    objects: list[S3Object] = []
    for key in manifest_keys:
        uri = f"s3://{bucket}/{key}"
        entries = _manifest_entries(read_document(client, uri), uri)
        looked_up = _head_all(client, [(url, mandatory) for url, mandatory, length in entries if length is None])
        for url, mandatory, length in entries:
            entry_bucket, _, entry_key = url.removeprefix("s3://").partition("/")
            if length is not None:
                objects.append(ManifestEntry(entry_bucket, entry_key, length, "", manifest=uri, mandatory=mandatory))
                continue
            head = looked_up[url]
            if isinstance(head, Exception):
                if mandatory:
                    raise CopyError(f"The manifest {uri} lists {url} as mandatory, but it cannot be read: {head}")
                log.warning("Skipping %s, listed in %s as optional: %s", url, uri, head)
                continue
            objects.append(S3Object(entry_bucket, entry_key, head["ContentLength"], head.get("ETag", "").strip('"')))
    return objects


def _head_all(client: Any, entries: Sequence[tuple[str, bool]]) -> dict[str, Any]:
    """HEAD of each entry's URL, or the exception it raised, FETCH_WORKERS at a time."""

    def head(url: str) -> Any:
        entry_bucket, _, entry_key = url.removeprefix("s3://").partition("/")
        try:
            return client.head_object(Bucket=entry_bucket, Key=entry_key)
        except Exception as error:  # botocore raises many types; the message is what matters
            return error

    urls = list(dict.fromkeys(url for url, _ in entries))
    if len(urls) <= 1:
        return {url: head(url) for url in urls}
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="s3-head") as pool:
        return dict(zip(urls, pool.map(head, urls)))


def _manifest_entries(document: bytes, uri: str) -> list[tuple[str, bool, int | None]]:
    """(url, mandatory, meta.content_length or None) of each entry of a manifest."""
    try:
        manifest = json.loads(document)
    except ValueError as error:
        raise CopyError(f"The manifest {uri} is not valid: {json_problem(error)}") from None
    try:
        entries = manifest["entries"]
        if not isinstance(entries, list) or not entries:
            raise ValueError("'entries' must be a non-empty list")
        parsed = []
        for entry in entries:
            url, mandatory = entry["url"], entry.get("mandatory", False)
            if not (isinstance(url, str) and url.startswith("s3://") and "/" in url[5:]) or not isinstance(
                mandatory, bool
            ):
                raise ValueError(f"bad entry {entry!r}: needs an s3:// url and a true/false mandatory flag")
            length = (entry.get("meta") or {}).get("content_length")
            if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 0):
                raise ValueError(f"bad entry {entry!r}: meta.content_length must be a whole number of bytes")
            parsed.append((url, mandatory, length))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CopyError(f"The manifest {uri} is not valid: {error}") from None
    return parsed


def read_document(client: Any, uri: str) -> bytes:
    """A whole small object, such as a jsonpaths file, by its s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:  # botocore raises many types; the message is what matters
        raise CopyError(f"Could not read {uri}: {error}") from None


def open_objects(
    client: Any,
    objects: Sequence[S3Object],
    compression: str | None,
    max_decompressed_bytes: int | None = None,
) -> Iterator[tuple[S3Object, IO[bytes]]]:
    """Yield a readable stream per object, in order, fetching up to FETCH_WORKERS (and PREFETCH_BYTES) ahead.

    A compressed stream fails with a LoadError naming the object when it is corrupt or decompresses to more
    than `max_decompressed_bytes` (default MAX_DECOMPRESSED_BYTES). A manifest entry that was not looked up
    and cannot be read fails the load if it is mandatory, and is skipped if it is optional.
    """
    limit = MAX_DECOMPRESSED_BYTES if max_decompressed_bytes is None else max_decompressed_bytes
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="s3-fetch") as pool:
        pending: deque[tuple[S3Object, Future]] = deque()
        ahead = 0  # bytes of the pending objects that are read whole

        def ready() -> tuple[S3Object, IO[bytes]] | None:
            nonlocal ahead
            obj, future = pending.popleft()
            ahead -= _whole_size(obj)
            return _ready(obj, future, compression, limit)

        try:
            for obj in objects:
                while pending and (len(pending) >= FETCH_WORKERS * 2 or ahead + _whole_size(obj) > PREFETCH_BYTES):
                    opened = ready()
                    if opened is not None:  # None: an optional manifest entry that cannot be read
                        yield opened
                pending.append((obj, pool.submit(_fetch, client, obj)))
                ahead += _whole_size(obj)
            while pending:
                opened = ready()
                if opened is not None:
                    yield opened
        finally:
            for _, future in pending:
                future.cancel()


def _whole_size(obj: S3Object) -> int:
    return obj.size if obj.size <= WHOLE_OBJECT_LIMIT else 0


def _fetch(client: Any, obj: S3Object) -> IO[bytes]:
    body = client.get_object(Bucket=obj.bucket, Key=obj.key)["Body"]
    if obj.size <= WHOLE_OBJECT_LIMIT:
        data = body.read()
        if len(data) != obj.size:
            if isinstance(obj, ManifestEntry):
                raise CopyError(
                    f"{obj.uri} has {len(data)} bytes, but the manifest {obj.manifest} gives "
                    f"its meta.content_length as {obj.size}."
                )
            raise CopyError(f"{obj.uri} changed while it was read: listed {obj.size} bytes, got {len(data)}.")
        return io.BytesIO(data)
    return body  # large objects stream through the parser


def _ready(obj: S3Object, future: Future, compression: str | None, limit: int) -> tuple[S3Object, IO[bytes]] | None:
    try:
        stream = future.result()
    except CopyError:
        raise
    except Exception as error:
        if isinstance(obj, ManifestEntry):
            if obj.mandatory:
                raise CopyError(
                    f"The manifest {obj.manifest} lists {obj.uri} as mandatory, but it cannot be read: {error}"
                ) from None
            log.warning("Skipping %s, listed in %s as optional: %s", obj.uri, obj.manifest, error)
            return None
        raise CopyError(f"Could not read {obj.uri}: {error}") from None
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    elif compression == "bzip2":
        stream = bz2.BZ2File(stream, mode="rb")
    elif compression == "zstd":
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(stream)
    if compression:
        stream = _Decompressed(stream, obj.uri, compression, limit)
    return obj, stream


class _Decompressed(io.RawIOBase):
    """A decompressing stream that stops at `limit` bytes and names the object in its errors."""

    def __init__(self, stream: IO[bytes], uri: str, compression: str, limit: int) -> None:
        super().__init__()
        self.stream, self.uri, self.compression, self.limit, self.count = stream, uri, compression, limit, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.limit - self.count + 1
        try:
            data = self.stream.read(min(size, self.limit - self.count + 1))
        except (OSError, EOFError, ValueError, zlib.error, _zstd_error()) as error:
            raise LoadError(
                self.uri,
                0,
                0,
                f"Could not decompress the object ({self.compression.upper()}): {error or type(error).__name__}",
            ) from None
        self.count += len(data)
        if self.count > self.limit:
            raise LoadError(
                self.uri,
                0,
                0,
                f"The object decompresses ({self.compression.upper()}) to more than {self.limit} bytes, the cap on "
                "decompressed bytes per object (s3_objects.MAX_DECOMPRESSED_BYTES); a compression bomb?",
            )
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _zstd_error() -> type[Exception]:
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is pinned
        return OSError
    return zstandard.ZstdError
