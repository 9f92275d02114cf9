"""In-memory stand-ins for the cursor and the S3 client that `run_local_copy` is given, for unit tests."""

from __future__ import annotations

import io

from psycopg.adapt import PyFormat, Transformer

BUCKET, KEY = "sparkify-unit", "log_data/events.json"
_TRANSFORMER = Transformer()


def dump_as_text(value) -> bytes:
    """`value` encoded as psycopg encodes it when a row is written (a lone surrogate fails here)."""
    return _TRANSFORMER.get_dumper(value, PyFormat.TEXT).dump(value)


class FakeCopy:
    def __init__(self, sql: str) -> None:
        self.sql, self.types, self.rows = sql, None, []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def set_types(self, types) -> None:
        self.types = list(types)

    def write_row(self, row) -> None:
        for value in row:
            if value is not None:
                dump_as_text(value)
            assert not (isinstance(value, str) and "\x00" in value), "PostgreSQL refuses NUL in text"
        self.rows.append(tuple(row))


class FakeCursor:
    def __init__(self, columns) -> None:
        self.columns, self.statements, self.copies = columns, [], []

    def execute(self, sql: str, params=None) -> None:
        self.statements.append(sql)

    def fetchall(self) -> list[tuple]:
        return [(name, kind, length, None, None) for name, kind, length in self.columns]

    def copy(self, sql: str) -> FakeCopy:
        self.copies.append(FakeCopy(sql))
        return self.copies[-1]


class FakeS3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict:  # noqa: N803 - boto3's names
        return {"Body": io.BytesIO(self.objects[Key])}

    def get_paginator(self, name: str):
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str):  # noqa: N803 - boto3's names
        return [
            {
                "Contents": [
                    {"Key": k, "Size": len(v), "ETag": '"etag"'}
                    for k, v in self.objects.items()
                    if k.startswith(Prefix)
                ]
            }
        ]
