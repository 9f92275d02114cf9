"""record_staged without services: the staged files go in a few multi-row INSERTs, not one round trip per file."""

from __future__ import annotations

from sparkify.s3copy.ledger import record_staged
from sparkify.s3copy.objects import S3Object
from sparkify.warehouse import INSERT_BATCH_ROWS


class RecordingCursor:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list]] = []

    def execute(self, sql, params=None):
        self.calls.append((sql, params))


def test_the_staged_files_go_in_a_few_multi_row_inserts():
    objects = [S3Object("sparkify-unit", f"song_data/{i}.json", i, f"e{i}") for i in range(INSERT_BATCH_ROWS * 2 + 1)]
    cursor = RecordingCursor()
    record_staged(cursor, "staging_song_files", objects)
    (delete, _), *inserts = cursor.calls
    assert delete.startswith("DELETE FROM")
    assert [len(params) // 3 for _, params in inserts] == [INSERT_BATCH_ROWS, INSERT_BATCH_ROWS, 1]
    for sql, params in inserts:
        assert sql.count("(%s, %s, %s)") == len(params) // 3
    assert [tuple(p[i : i + 3]) for _, p in inserts for i in range(0, len(p), 3)] == [
        (o.key, o.etag, o.size) for o in objects
    ]
