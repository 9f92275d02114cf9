"""Manifest entries without services: a fake S3 client counts the calls the emulator makes.

An entry with `meta.content_length` (the stage operator writes one for every object) is taken at
its word, as Redshift does: no HEAD per entry, which over 20,000 song files was a third of the
load. Whether it exists is known when it is read: a missing mandatory entry still fails the load
with the manifest's name, a missing optional one is still skipped.
"""

from __future__ import annotations

import io
import json

import pytest

from local_stack.redshift.s3copy.errors import CopyError
from local_stack.redshift.s3copy.s3_objects import manifest_objects, open_objects
from sparkify.s3copy.objects import S3Object, manifest_document

BUCKET = "sparkify-unit"


class NotFound(Exception):
    pass


class FakeS3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.heads: list[str] = []

    def get_object(self, Bucket, Key):  # noqa: N803 (boto3's names)
        if Key not in self.objects:
            raise NotFound(f"NoSuchKey {Key}")
        return {"Body": io.BytesIO(self.objects[Key])}

    def head_object(self, Bucket, Key):  # noqa: N803
        self.heads.append(Key)
        if Key not in self.objects:
            raise NotFound(f"404 {Key}")
        return {"ContentLength": len(self.objects[Key]), "ETag": '"e"'}


def entry(key: str, mandatory: bool = True, length: int | None = None) -> dict:
    found = {"url": f"s3://{BUCKET}/{key}", "mandatory": mandatory}
    return found if length is None else {**found, "meta": {"content_length": length}}


def read_all(s3: FakeS3, manifest: list[dict]) -> dict[str, bytes]:
    s3.objects["m.manifest"] = json.dumps({"entries": manifest}).encode()
    objects = manifest_objects(s3, BUCKET, ["m.manifest"])
    return {obj.key: stream.read() for obj, stream in open_objects(s3, objects, None)}


def test_the_operators_manifest_is_read_without_a_head_per_entry():
    files = {f"song_data/{i}.json": b'{"song_id": "S%d"}' % i for i in range(40)}
    s3 = FakeS3(dict(files))
    document = manifest_document([S3Object(BUCKET, key, len(body), "e") for key, body in files.items()])
    s3.objects["m.manifest"] = document
    objects = manifest_objects(s3, BUCKET, ["m.manifest"])
    assert s3.heads == []
    assert {obj.key: stream.read() for obj, stream in open_objects(s3, objects, None)} == files


def test_entries_without_a_length_are_looked_up():
    s3 = FakeS3({"a.json": b"{}", "b.json": b"{}"})
    assert read_all(s3, [entry("a.json"), entry("b.json", length=2)]) == {"a.json": b"{}", "b.json": b"{}"}
    assert s3.heads == ["a.json"]


@pytest.mark.parametrize("length", [None, 10])
def test_a_missing_mandatory_entry_fails_naming_the_manifest(length):
    s3 = FakeS3({"a.json": b"{}"})
    with pytest.raises(
        CopyError, match=f"m.manifest lists s3://{BUCKET}/gone.json as mandatory, but it cannot be read"
    ):
        read_all(s3, [entry("a.json"), entry("gone.json", length=length)])


@pytest.mark.parametrize("length", [None, 10])
def test_a_missing_optional_entry_is_skipped(length):
    s3 = FakeS3({"a.json": b"{}"})
    assert read_all(s3, [entry("gone.json", mandatory=False, length=length), entry("a.json")]) == {"a.json": b"{}"}


def test_a_wrong_content_length_is_an_error():
    s3 = FakeS3({"a.json": b"{}"})
    with pytest.raises(CopyError, match="a.json has 2 bytes, but the manifest .* gives its meta.content_length as 3"):
        read_all(s3, [entry("a.json", length=3)])


@pytest.mark.parametrize("length", [-1, "10", True, 1.5])
def test_a_bad_content_length_is_a_clear_error(length):
    with pytest.raises(CopyError, match="is not valid: .*content_length"):
        read_all(FakeS3({}), [{"url": f"s3://{BUCKET}/a.json", "mandatory": True, "meta": {"content_length": length}}])
