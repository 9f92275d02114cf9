"""The manifest a selection step hands to the stage task: a COPY manifest of exactly the selected
objects whose entries also carry each object's ETag, so that the stage task records what it staged
(key, ETag, size) without asking S3 again.

COPY needs only an entry's `url` and `mandatory` and leaves other keys alone, as it does in the
manifests UNLOAD writes: https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
A manifest with no entries is how a selection says "nothing new"; COPY would refuse it, so the
stage task runs no COPY for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sparkify.s3copy.objects import S3Object, split_s3_url


def selection_manifest(objects: Sequence[S3Object]) -> bytes:
    """The manifest of `objects`: every entry mandatory, with its length and ETag."""
    entries = [{"url": o.uri, "mandatory": True, "meta": {"content_length": o.size, "etag": o.etag}} for o in objects]
    return json.dumps({"entries": entries}, separators=(",", ":")).encode()


def is_empty_manifest(document: bytes) -> bool:
    """A well-formed manifest with no entries (anything else is for COPY to judge)."""
    try:
        parsed = json.loads(document)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("entries") == []


def manifest_objects(document: bytes, uri: str) -> list[S3Object]:
    """The objects a selection manifest lists; ValueError for a document that is not one."""
    try:
        entries = json.loads(document)["entries"]
        objects = []
        for entry in entries:
            bucket, key = split_s3_url(entry["url"])
            meta = entry["meta"]
            size, etag = meta["content_length"], meta["etag"]
            if not key or not isinstance(size, int) or isinstance(size, bool) or not isinstance(etag, str):
                raise ValueError(entry)
            objects.append(S3Object(bucket=bucket, key=key, size=size, etag=etag))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{uri} is not a selection manifest (entries with url, meta.content_length and meta.etag): {error}"
        ) from None
    return objects
