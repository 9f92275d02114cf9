"""The stage step's memory is bounded for any input, and compressed objects are read within a cap.

Peak memory is measured in bytes with tracemalloc (Python's allocations, which hold every buffer, string and
parsed object of the load), never by time: the loader runs against fake S3 and a fake COPY that counts rows.
"""

from __future__ import annotations

import bz2
import gzip
import io
import tracemalloc

import pytest
import zstandard

from local_stack.redshift.s3copy import s3_objects
from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.s3copy.errors import LoadError
from local_stack.redshift.s3copy.loader import run_local_copy
from sparkify.s3copy.objects import S3Object
from sparkify.s3copy.spec import CopyOptions

MiB = 1 << 20
PEAK_LIMIT = 256 * MiB  # above the baseline, for any input
BUCKET, KEY = "sparkify-unit", "song_data/bomb.json"
COLUMNS = [("title", "character varying", 256), ("n", "integer", None)]


class CountingCopy:
    def __init__(self) -> None:
        self.rows = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def set_types(self, types) -> None:
        pass

    def write_row(self, row) -> None:
        self.rows += 1


class Cursor:
    def __init__(self) -> None:
        self.copied = CountingCopy()

    def execute(self, sql: str, params=None) -> None:
        pass

    def fetchall(self) -> list[tuple]:
        return [(name, kind, length, None, None) for name, kind, length in COLUMNS]

    def copy(self, sql: str) -> CountingCopy:
        return self.copied


class S3:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_object(self, Bucket: str, Key: str) -> dict:  # noqa: N803 - boto3's names
        return {"Body": io.BytesIO(self.data)}

    def get_paginator(self, name: str):
        return self

    def paginate(self, Bucket: str, Prefix: str):  # noqa: N803 - boto3's names
        return [{"Contents": [{"Key": KEY, "Size": len(self.data), "ETag": '"etag"'}]}]


def gzip_of(parts: tuple[bytes, bytes, bytes], size: int) -> bytes:
    """A gzip of parts[0], then parts[1] repeated to about `size` bytes, then parts[2]: a bomb made in no time.

    gzip allows members one after the other; the body is one member of about 1 MiB, repeated.
    """
    head, body, tail = parts
    block = body * max(1, MiB // len(body))
    member = gzip.compress(block, 9)
    return gzip.compress(head) + member * max(1, size // len(block)) + gzip.compress(tail)


def load(data: bytes, compression: str | None = "gzip") -> tuple[int | LoadError, int]:
    """(rows loaded or the LoadError that failed the load, peak bytes allocated above the baseline meanwhile)."""
    options = CopyOptions(compression=compression, truncate_columns=True)
    command = CopyCommand(table="staging_songs", source=f"s3://{BUCKET}/{KEY}", options=options)
    cursor, s3 = Cursor(), S3(data)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        try:
            run_local_copy(command, cursor, s3, [])
            outcome = cursor.copied.rows
        except LoadError as error:
            outcome = error
        return outcome, tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_of_one_endless_string_fails_at_4_mb_within_bounded_memory():
    data = gzip_of((b'{"title": "', b"x", b'"}'), 1024 * MiB)  # 1 GiB of one string, 1 MB of gzip
    error, peak = load(data)
    assert isinstance(error, LoadError), error
    assert error.key == f"s3://{BUCKET}/{KEY}"
    assert error.reason.startswith("JSON object or array too large")
    assert peak < PEAK_LIMIT, peak


def test_a_gzip_bomb_of_whitespace_between_objects_loads_within_bounded_memory():
    data = gzip_of((b'{"title": "a", "n": 1}', b" ", b'{"title": "b", "n": 2}\n'), 288 * MiB)
    rows, peak = load(data)
    assert rows == 2
    assert peak < 32 * MiB, peak


def test_a_huge_single_line_file_loads_within_bounded_memory():
    record = b'{"title": "' + b"y" * (64 << 10) + b'", "n": 7} '
    data = gzip_of((b"", record, b"\n"), 288 * MiB)  # 288 MiB of objects on one line
    rows, peak = load(data)
    assert rows == MiB // len(record) * (288 * MiB // (MiB // len(record) * len(record)))
    assert peak < PEAK_LIMIT, peak


# --- the cap on decompressed bytes ---------------------------------------------------------------


CAP = 256 << 10
COMPRESSORS = {"gzip": gzip.compress, "bzip2": bz2.compress, "zstd": zstandard.ZstdCompressor().compress}


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_decompressed_bytes_beyond_the_cap_fail_the_load_naming_the_object(compression, monkeypatch):
    monkeypatch.setattr(s3_objects, "MAX_DECOMPRESSED_BYTES", CAP)
    data = COMPRESSORS[compression](b'{"title": "a", "n": 1}\n' * (2 * CAP // 23))
    error, _ = load(data, compression)
    assert isinstance(error, LoadError), error
    assert error.key == f"s3://{BUCKET}/{KEY}"
    assert error.reason == (
        f"The object decompresses ({compression.upper()}) to more than 262144 bytes, the cap on decompressed "
        "bytes per object (s3_objects.MAX_DECOMPRESSED_BYTES); a compression bomb?"
    )


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_objects_within_the_cap_load(compression, monkeypatch):
    monkeypatch.setattr(s3_objects, "MAX_DECOMPRESSED_BYTES", CAP)
    data = COMPRESSORS[compression](b'{"title": "a", "n": 1}\n' * (CAP // 23))
    assert load(data, compression)[0] == CAP // 23


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
@pytest.mark.parametrize("data", [b"not compressed at all", b"\x1f\x8b\x08\x00" + b"\xff" * 64, b""])
def test_a_corrupt_compressed_object_fails_the_load_naming_the_object(compression, data):
    outcome, _ = load(data, compression)
    if data == b"" and outcome == 0:  # an empty object is an empty stream to some decompressors
        return
    assert isinstance(outcome, LoadError), outcome
    assert outcome.key == f"s3://{BUCKET}/{KEY}"
    assert outcome.reason.startswith(f"Could not decompress the object ({compression.upper()}): ")


def test_whole_objects_fetched_ahead_stay_within_the_prefetch_budget(monkeypatch):
    fetched: list[str] = []

    def fetch(client, obj):
        fetched.append(obj.key)
        return io.BytesIO(b"")

    monkeypatch.setattr(s3_objects, "_fetch", fetch)
    objects = [S3Object(BUCKET, f"k{i}", 8 * MiB, "etag") for i in range(40)]
    for given, (obj, _) in enumerate(s3_objects.open_objects(None, objects, None), start=1):
        ahead = len(fetched) - given  # submitted, beyond those given out
        assert ahead * 8 * MiB <= s3_objects.PREFETCH_BYTES, (obj.key, ahead)
    assert len(fetched) == 40
