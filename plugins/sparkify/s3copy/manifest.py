"""The manifest a selection step hands to the stage task: a COPY manifest of exactly the selected
objects, and beside it their ETags, so that the stage task records what it staged (key, ETag, size)
without asking S3 again.

The manifest holds only the keys Redshift documents (`url`, `mandatory`, `meta.content_length`):
https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
The ETags go in a sidecar object, `<manifest key>.etags.json` (url -> ETag), written before the
manifest so that no reader finds a manifest without them.
A manifest with no entries is how a selection says "nothing new"; COPY would refuse it, so the
stage task runs no COPY for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sparkify.s3copy.objects import S3Object, split_s3_url

ETAGS_SUFFIX = ".etags.json"


def etags_key(manifest: str) -> str:
    """The key (or s3:// URI) of the ETags sidecar of the manifest at `manifest`."""
    return manifest + ETAGS_SUFFIX


def selection_manifest(objects: Sequence[S3Object]) -> bytes:
    """The COPY manifest of `objects`: every entry mandatory, with its length."""
    entries = [{"url": o.uri, "mandatory": True, "meta": {"content_length": o.size}} for o in objects]
    return json.dumps({"entries": entries}, separators=(",", ":")).encode()


def selection_etags(objects: Sequence[S3Object]) -> bytes:
    """The sidecar of the manifest of `objects`: each object's URL and its ETag."""
    return json.dumps({o.uri: o.etag for o in objects}, separators=(",", ":")).encode()


def is_empty_manifest(document: bytes) -> bool:
    """A well-formed manifest with no entries (anything else is for COPY to judge)."""
    try:
        parsed = json.loads(document)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("entries") == []


def manifest_objects(document: bytes, etags: bytes | None, uri: str) -> list[S3Object]:
    """The objects of the selection manifest at `uri` (`document`) with the ETags of its sidecar
    (`etags`, needed unless the manifest has no entries); ValueError for documents that are not these."""
    try:
        entries = json.loads(document)["entries"]
        listed = []
        for entry in entries:
            bucket, key = split_s3_url(entry["url"])
            size = entry["meta"]["content_length"]
            if not key or not isinstance(size, int) or isinstance(size, bool):
                raise ValueError(entry)
            listed.append((entry["url"], bucket, key, size))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{uri} is not a selection manifest (entries with url and meta.content_length): {error}"
        ) from None
    if not listed:
        return []
    try:
        by_url = json.loads(etags) if etags is not None else None
        if not isinstance(by_url, dict):
            raise TypeError("not a JSON object")
        objects = []
        for url, bucket, key, size in listed:
            etag = by_url[url]
            if not isinstance(etag, str):
                raise TypeError(f"{url}: {etag!r} is not an ETag")
            objects.append(S3Object(bucket=bucket, key=key, size=size, etag=etag))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{etags_key(uri)} is not the ETags of {uri} (url -> ETag): {error!r}") from None
    return objects
