"""The S3 objects a stage task selects, the COPY manifest that names exactly them, and the checks
that an object is still the version the task listed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from typing import Any


class NoSourceObjects(ValueError):
    """A key names no object and no prefix of one."""


class SourceChanged(RuntimeError):
    """An object changed between the listing and the COPY that read it. Not a data error: a retry lists
    and reads it again."""


@dataclass(frozen=True)
class S3Object:
    """One version of an object, as a listing or a GET saw it. The local emulator reads COPY's
    objects as these too (its manifest entries extend them)."""

    bucket: str
    key: str
    size: int
    etag: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


# Threads that list a prefix's sub-folders at once (see list_objects). Below the 10 connections
# of a boto3 client's default pool, so that no thread waits for a connection or drops one.
LIST_THREADS = 8
# How many folder levels list_objects may descend to find enough sub-folders to list in parallel.
LIST_MAX_DEPTH = 2


def select_objects(s3_hook: Any, bucket: str, keys: Sequence[str], threads: int = LIST_THREADS) -> list[S3Object]:
    """For each key, the object with exactly that key if there is one, else every object under it.

    So `log_data/2018/11/2018-11-15-events.json` never pulls in `...events.json.bak`, while
    `song_data/` is a prefix. A key that matches nothing is an error."""
    client = s3_hook.get_conn()
    extra = request_extra(s3_hook)
    selected: dict[str, S3Object] = {}
    for key in keys:
        listed = list_objects(client, bucket, key, threads, **extra)
        exact = [o for o in listed if o.key == key]
        chosen = exact or listed
        if not chosen:
            raise NoSourceObjects(f"No object or prefix s3://{bucket}/{key}: nothing to load.")
        for obj in chosen:
            selected.setdefault(obj.key, obj)
    return list(selected.values())


def request_extra(s3_hook: Any) -> dict[str, Any]:
    """The parameters every S3 request of `s3_hook` needs (RequestPayer for a requester-pays bucket)."""
    return {"RequestPayer": "requester"} if getattr(s3_hook, "_requester_pays", False) else {}


def read_small_object(client: Any, uri: str, max_bytes: int, **extra: Any) -> tuple[S3Object, bytes]:
    """The object at `uri` as one GET read it: its ETag and size with its bytes, so that they describe
    the same version. More than `max_bytes` is refused (ValueError)."""
    bucket, key = split_s3_url(uri)
    response = client.get_object(Bucket=bucket, Key=key, **extra)
    with closing(response["Body"]) as body:
        data = body.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{uri} is larger than {max_bytes} bytes.")
    return S3Object(bucket, key, len(data), str(response.get("ETag", "")).strip('"')), data


def check_unchanged(s3_hook: Any, obj: S3Object) -> None:
    """Raise SourceChanged unless `obj` still has the ETag and size it was listed with (a HEAD now).

    COPY reads an object by key and S3 COPY cannot pin a version, so a HEAD after the COPY that
    finds the listed ETag and size shows that the COPY read the listed version; anything else
    (including a deleted object) means it may have read another. The provider's `head_object` adds
    the requester-pays parameter and answers None for a missing object."""
    head = s3_hook.head_object(obj.key, obj.bucket)
    if head is None:
        raise SourceChanged(f"{obj.uri} was deleted while it was staged (listed with ETag {obj.etag}).")
    etag, size = str(head.get("ETag", "")).strip('"'), int(head["ContentLength"])
    if (etag, size) != (obj.etag, obj.size):
        raise SourceChanged(
            f"{obj.uri} changed while it was staged: listed with ETag {obj.etag} and {obj.size} bytes, "
            f"now {etag} and {size} bytes. Nothing was kept; the retry stages the new version."
        )


def list_objects(
    client: Any, bucket: str, prefix: str, threads: int = LIST_THREADS, page_size: int | None = None, **extra: Any
) -> list[S3Object]:
    """Every object whose key starts with `prefix`, in key order; a large prefix is listed folder by folder in parallel.

    A listing returns at most 1,000 keys per request, and each page needs the previous page's
    continuation token, so one listing of a large prefix is a chain of round trips. This one
    takes the first page; if there is more, it asks for the prefix's folders (`Delimiter='/'`,
    descending up to LIST_MAX_DEPTH levels while there are fewer folders than threads: one page
    for a layout like `song_data/A/B/C/`) and lists the folders that hold keys after the first
    page's last key, `threads` at a time. A listing is in key order, so those are exactly the
    keys the first page did not have: the result is the same set as one listing of `prefix`. A
    "folder" marker key ending in "/" is not an object and is left out. `page_size` (S3's MaxKeys,
    at most 1,000) is for tests, to list a few keys in several pages."""
    if page_size:
        extra["MaxKeys"] = page_size
    first = client.list_objects_v2(Bucket=bucket, Prefix=prefix, **extra)
    found = {o.key: o for o in _objects(bucket, first)}
    if first.get("IsTruncated") and first.get("Contents"):
        last = first["Contents"][-1]["Key"]
        for obj in _objects_after(client, bucket, prefix, last, threads, **extra):
            found.setdefault(obj.key, obj)
    return sorted(found.values(), key=lambda o: o.key)


def _objects_after(client: Any, bucket: str, prefix: str, last: str, threads: int, **extra: Any) -> list[S3Object]:
    """The objects under `prefix` whose key sorts after `last`."""
    found: list[S3Object] = []
    folders, depth = [prefix], 0
    while folders and depth < LIST_MAX_DEPTH and len(folders) < threads:
        expanded: list[str] = []
        for folder in folders:
            for page in _pages(client, bucket, folder, delimiter="/", **extra):
                found += [o for o in _objects(bucket, page) if o.key > last]
                expanded += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        folders, depth = expanded, depth + 1
    # A folder that sorts before `last` and does not contain it holds only keys before it.
    todo = [(f, last if last.startswith(f) else None) for f in folders if f > last or last.startswith(f)]
    if depth == 0:  # no folders looked for (one thread): the rest of the one listing
        todo = [(prefix, last)]
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(todo) or 1)), thread_name_prefix="s3-list") as pool:
        for part in pool.map(lambda item: _list_all(client, bucket, item[0], start_after=item[1], **extra), todo):
            found += part
    return found


def _list_all(client: Any, bucket: str, prefix: str, start_after: str | None = None, **extra: Any) -> list[S3Object]:
    return [
        obj
        for page in _pages(client, bucket, prefix, start_after=start_after, **extra)
        for obj in _objects(bucket, page)
    ]


def _pages(
    client: Any, bucket: str, prefix: str, delimiter: str | None = None, start_after: str | None = None, **extra: Any
):
    params = {"Bucket": bucket, "Prefix": prefix, **extra}
    if delimiter:
        params["Delimiter"] = delimiter
    if start_after:
        params["StartAfter"] = start_after
    return client.get_paginator("list_objects_v2").paginate(**params)


def _objects(bucket: str, page: dict) -> list[S3Object]:
    return [
        S3Object(bucket, item["Key"], int(item["Size"]), str(item.get("ETag", "")).strip('"'))
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")
    ]


def manifest_document(objects: Sequence[S3Object]) -> bytes:
    """A Redshift COPY manifest: every object mandatory, with its full URL and length."""
    entries = [{"url": o.uri, "mandatory": True, "meta": {"content_length": o.size}} for o in objects]
    return json.dumps({"entries": entries}, separators=(",", ":")).encode()


def split_s3_url(url: str) -> tuple[str, str]:
    """('bucket', 'key/prefix') of an s3:// URL."""
    if not isinstance(url, str) or not url.startswith("s3://") or "/" not in url[5:]:
        raise ValueError(f"{url!r} is not an s3://bucket/prefix URL.")
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def safe_key(text: str) -> str:
    """`text` with only characters that need no escaping in an S3 key."""
    return "".join(c if c.isalnum() or c in "-_./" else "_" for c in text)
