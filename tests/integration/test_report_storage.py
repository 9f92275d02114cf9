"""The report's object storage: ObjectStoragePath on the local S3 (moto) through the project's boto3 filesystem.

Every call goes to the real moto server of the session; the keys are checked with boto3 directly.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from sparkify.boto_s3_filesystem import BotoS3FileSystem
from sparkify.config import PROJECT_BUCKET
from sparkify.report.storage import latest_report, publish_report, report_location, report_name

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix(stack) -> str:
    return f"storage-test-{uuid.uuid4().hex[:8]}"


def test_publish_list_read_and_pick_the_latest(s3, prefix):
    folder = report_location(f"s3://{PROJECT_BUCKET}/{prefix}/", "aws_default")
    assert folder.conn_id == "aws_default"
    assert latest_report(folder) is None, "an empty location has no report"

    first = publish_report(folder, "<p>one ü</p>", datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc))
    second = publish_report(folder, "<p>two</p>", datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=timezone.utc))
    s3.put_object(Bucket=PROJECT_BUCKET, Key=f"{prefix}/notes.txt", Body=b"not a report")

    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=PROJECT_BUCKET, Prefix=prefix)["Contents"])
    assert keys == [
        f"{prefix}/notes.txt",
        f"{prefix}/sparkify_report_20260102T030405000006Z.html",
        f"{prefix}/sparkify_report_20260102T030405000007Z.html",
    ]
    assert str(first) == f"s3://aws_default@{PROJECT_BUCKET}/{prefix}/{report_name(datetime(2026, 1, 2, 3, 4, 5, 6))}"
    assert s3.get_object(Bucket=PROJECT_BUCKET, Key=keys[1])["Body"].read() == "<p>one ü</p>".encode()
    assert latest_report(folder) == second
    assert latest_report(folder).read_bytes() == b"<p>two</p>"
    assert first.read_bytes() == "<p>one ü</p>".encode()


def test_the_filesystem_lists_stats_reads_ranges_and_deletes(s3, prefix):
    fs = BotoS3FileSystem(conn_id="aws_default")
    body = bytes(range(256)) * 40
    s3.put_object(Bucket=PROJECT_BUCKET, Key=f"{prefix}/a/b.bin", Body=body)
    s3.put_object(Bucket=PROJECT_BUCKET, Key=f"{prefix}/c.txt", Body=b"c")

    assert sorted(fs.ls(f"s3://{PROJECT_BUCKET}/{prefix}", detail=False)) == [
        f"{PROJECT_BUCKET}/{prefix}/a",
        f"{PROJECT_BUCKET}/{prefix}/c.txt",
    ]
    assert fs.info(f"{PROJECT_BUCKET}/{prefix}/a")["type"] == "directory"
    assert fs.info(f"{PROJECT_BUCKET}/{prefix}/a/b.bin")["size"] == len(body)
    with pytest.raises(FileNotFoundError):
        fs.info(f"{PROJECT_BUCKET}/{prefix}/missing")
    with fs.open(f"{PROJECT_BUCKET}/{prefix}/a/b.bin", "rb", block_size=1000) as handle:
        handle.seek(5000)
        assert handle.read(3000) == body[5000:8000]
    fs.rm_file(f"{PROJECT_BUCKET}/{prefix}/c.txt")
    assert s3.list_objects_v2(Bucket=PROJECT_BUCKET, Prefix=f"{prefix}/c")["KeyCount"] == 0


def test_a_big_write_is_one_object_that_appears_only_on_close(s3, prefix):
    fs = BotoS3FileSystem(conn_id="aws_default")
    key = f"{prefix}/big.bin"
    with fs.open(f"{PROJECT_BUCKET}/{key}", "wb", block_size=5 * 2**20) as handle:
        for _ in range(3):
            handle.write(b"x" * (4 * 2**20))
        assert s3.list_objects_v2(Bucket=PROJECT_BUCKET, Prefix=key)["KeyCount"] == 0, "nothing before close"
    assert s3.head_object(Bucket=PROJECT_BUCKET, Key=key)["ContentLength"] == 12 * 2**20


def test_a_location_may_name_its_connection(stack):
    assert report_location(f"s3://other_conn@{PROJECT_BUCKET}/r/", "aws_default").conn_id == "other_conn"
    with pytest.raises(ValueError, match="sparkify_report_location"):
        report_location("  ", "aws_default")
