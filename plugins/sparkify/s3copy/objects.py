"""The S3 objects a stage task selects, and the COPY manifest that names exactly them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class NoSourceObjects(ValueError):
    """A key names no object and no prefix of one."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    etag: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def select_objects(s3_hook: Any, bucket: str, keys: Sequence[str]) -> list[S3Object]:
    """For each key, the object with exactly that key if there is one, else every object under it.

    So `log_data/2018/11/2018-11-15-events.json` never pulls in `...events.json.bak`, while
    `song_data/` is a prefix. A key that matches nothing is an error."""
    selected: dict[str, S3Object] = {}
    for key in keys:
        listed = [
            S3Object(bucket, item["Key"], int(item["Size"]), str(item.get("ETag", "")).strip('"'))
            for item in s3_hook.get_file_metadata(prefix=key, bucket_name=bucket) or []
            if not item["Key"].endswith("/")
        ]
        exact = [o for o in listed if o.key == key]
        chosen = exact or listed
        if not chosen:
            raise NoSourceObjects(f"No object or prefix s3://{bucket}/{key}: nothing to load.")
        for obj in chosen:
            selected.setdefault(obj.key, obj)
    return list(selected.values())


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
