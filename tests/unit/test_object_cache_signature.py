"""The staged-object cache's signature: what makes a cached copy of an object reusable.

A copy may be reused only when everything COPY's result depends on is the same: the object's version
(URI, ETag, size), the COPY options, the bytes of the jsonpaths file (the n-th JSONPath expression
fills the n-th column: https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html)
and the target's columns. No services: the names are compared, and the jsonpaths digest is checked
against hashlib.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from sparkify.s3copy.object_cache import copy_table_name, signature
from sparkify.s3copy.objects import S3Object
from sparkify.s3copy.spec import CopyOptions

REGISTRY = "public.staged_object_cache"
DAY_FILE = S3Object("bucket", "log_data/2018/11/2018-11-15-events.json", 10530, "0123456789abcdef0123456789abcdef")
COLUMNS = [("artist", "character varying", 512, None, None), ("ts", "timestamp without time zone", None, None, None)]
OPTIONS = CopyOptions(json_format="s3://bucket/jsonpaths/log_json_path.json", manifest=True).sql()
JSONPATHS = json.dumps({"jsonpaths": ["$['artist']", "$['ts']"]}).encode()
SWAPPED = json.dumps({"jsonpaths": ["$['ts']", "$['artist']"]}).encode()


def name(obj: S3Object = DAY_FILE, options: str = OPTIONS, jsonpaths: bytes | None = JSONPATHS, columns=COLUMNS) -> str:
    return copy_table_name(REGISTRY, obj, signature(options, jsonpaths, columns))


def test_the_same_inputs_name_the_same_copy():
    assert name() == name(jsonpaths=bytes(JSONPATHS), columns=[tuple(c) for c in COLUMNS])
    assert name().startswith("public.staged_object_cache__o")


def test_an_edited_jsonpaths_file_under_the_same_uri_names_another_copy():
    assert name(jsonpaths=SWAPPED) != name()
    assert name(jsonpaths=JSONPATHS + b"\n") != name()  # any byte counts: no guessing what is equivalent


def test_the_signature_holds_the_sha256_of_the_jsonpaths_bytes():
    assert hashlib.sha256(JSONPATHS).hexdigest() in signature(OPTIONS, JSONPATHS, COLUMNS)
    assert hashlib.sha256(SWAPPED).hexdigest() not in signature(OPTIONS, JSONPATHS, COLUMNS)


def test_auto_and_an_empty_jsonpaths_file_differ():
    auto = CopyOptions(json_format="auto", manifest=True).sql()
    assert signature(auto, None, COLUMNS) != signature(auto, b"", COLUMNS)


@pytest.mark.parametrize(
    "changed",
    [
        {"obj": S3Object(DAY_FILE.bucket, DAY_FILE.key, DAY_FILE.size, "f" * 32)},  # new ETag
        {"obj": S3Object(DAY_FILE.bucket, DAY_FILE.key, DAY_FILE.size + 1, DAY_FILE.etag)},  # new size
        {"obj": S3Object(DAY_FILE.bucket, DAY_FILE.key + ".bak", DAY_FILE.size, DAY_FILE.etag)},  # other key
        {"options": CopyOptions(json_format="s3://bucket/jsonpaths/other.json", manifest=True).sql()},
        {"options": CopyOptions(json_format=OPTIONS.split("'")[1], manifest=True, blanks_as_null=True).sql()},
        {"columns": [*COLUMNS[:1], ("ts", "character varying", 64, None, None)]},
        {"columns": list(reversed(COLUMNS))},
    ],
    ids=["etag", "size", "key", "jsonpaths-uri", "option", "column-type", "column-order"],
)
def test_any_other_input_names_another_copy(changed):
    assert name(**changed) != name()


@pytest.mark.parametrize(
    ("json_format", "uri"),
    [("auto", None), ("auto ignorecase", None), ("s3://bucket/paths.json", "s3://bucket/paths.json")],
)
def test_the_jsonpaths_uri_of_the_options(json_format, uri):
    assert CopyOptions(json_format=json_format).jsonpaths_uri == uri
