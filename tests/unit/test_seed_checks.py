"""`make seed` checks the whole folder before it empties the bucket: a bad folder leaves the bucket as it was.

It used to delete every object first and only then find out, file by file, that the folder
was the wrong one, held a symlink to a file elsewhere, or a name that cannot be a key.
"""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from local_stack.processes import StackError
from local_stack.s3_server import upload_folder

BUCKET, REGION = "udacity-dend", "us-west-2"
BEFORE = {"log_json_path.json": b"{}", "song_data/A/A/A/TRAAA.json": b'{"song_id": "S1"}'}


@pytest.fixture
def s3(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        for key, body in BEFORE.items():
            client.put_object(Bucket=BUCKET, Key=key, Body=body)
        yield client


def contents(s3) -> dict[str, bytes]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def layout(root):
    (root / "log_data/2018/11").mkdir(parents=True)
    (root / "song_data/B/B/B").mkdir(parents=True)
    (root / "log_json_path.json").write_text('{"jsonpaths": []}')
    (root / "log_data/2018/11/2018-11-15-events.json").write_text('{"ts": 1}\n')
    (root / "song_data/B/B/B/TRBBB.json").write_text('{"song_id": "S2"}')
    return root


def test_a_good_folder_replaces_the_bucket(s3, tmp_path):
    assert upload_folder(s3, BUCKET, layout(tmp_path), REGION) == 3
    assert set(contents(s3)) == {
        "log_json_path.json",
        "log_data/2018/11/2018-11-15-events.json",
        "song_data/B/B/B/TRBBB.json",
    }


def test_a_folder_not_in_the_bucket_layout_is_refused_untouched(s3, tmp_path):
    (tmp_path / "notes.txt").write_text("not the data")  # e.g. make seed DATA=~ by mistake
    with pytest.raises(StackError, match="not a folder in the bucket layout"):
        upload_folder(s3, BUCKET, tmp_path, REGION)
    assert contents(s3) == BEFORE


def test_a_symlink_to_a_file_elsewhere_is_refused_untouched(s3, tmp_path):
    root = layout(tmp_path / "data")
    outside = tmp_path / "private.txt"
    outside.write_text("a secret outside the folder")
    (root / "song_data/B/B/B/TRLNK.json").symlink_to(outside)
    with pytest.raises(StackError, match="TRLNK.json: a symlink"):
        upload_folder(s3, BUCKET, root, REGION)
    assert contents(s3) == BEFORE


def test_a_name_that_cannot_be_a_key_is_refused_untouched(s3, tmp_path):
    root = layout(tmp_path)
    with open(os.path.join(os.fsencode(root / "song_data"), b"bad-\xff.json"), "wb") as file:
        file.write(b"{}")
    with pytest.raises(StackError, match="not UTF-8"):
        upload_folder(s3, BUCKET, root, REGION)
    assert contents(s3) == BEFORE


def test_every_problem_is_listed_at_once(s3, tmp_path):
    root = layout(tmp_path / "data")
    (root / "a.json").symlink_to(tmp_path / "missing")
    os.mkfifo(root / "pipe.json")
    with pytest.raises(StackError) as refused:
        upload_folder(s3, BUCKET, root, REGION)
    assert "a.json: a symlink" in str(refused.value) and "pipe.json: not a regular file" in str(refused.value)
    assert "the bucket was not touched" in str(refused.value)
    assert contents(s3) == BEFORE
