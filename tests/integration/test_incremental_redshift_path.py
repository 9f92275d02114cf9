"""The incremental stage on a `redshift` connection: the COPYs it issues for new and changed files.

No Redshift cluster runs here, so a recording driver stands in for redshift_connector; the
listing comes from the real local S3 and the ledger rows from the recording driver.
"""

from __future__ import annotations

import json

import pytest

from sparkify.operators import StageToRedshiftOperator
from tests.support import clear_prefix, put_objects, task_context

pytestmark = pytest.mark.integration
BUCKET = "sparkify-redshift-path"


class RecordingCursor:
    def __init__(self, ledger: list[tuple]) -> None:
        self.ledger, self.statements, self.rowcount, self._result = ledger, [], 0, []

    def execute(self, sql, parameters=None):
        self.statements.append(sql)
        self._result = self.ledger if "FROM \"song_file_ledger\"" in sql else [(1,)]

    def executemany(self, sql, rows):
        self.statements.append((sql, list(rows)))

    def fetchall(self):
        return self._result

    def fetchone(self):
        return self._result[0]

    def close(self):
        pass


@pytest.fixture
def redshift(monkeypatch, s3):
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    clear_prefix(s3, BUCKET, "")
    put_objects(s3, BUCKET, {"songs/a.json": '{"song_id": "A"}', "songs/b.json": '{"song_id": "B"}'})
    etag_a = s3.head_object(Bucket=BUCKET, Key="songs/a.json")["ETag"].strip('"')
    cursor = RecordingCursor(ledger=[("songs/a.json", etag_a, 16)])

    class Driver:
        def cursor(self):
            return cursor

        commit = rollback = close = lambda self: None

    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", json.dumps({"conn_type": "redshift", "host": "cluster.invalid"}))
    monkeypatch.setattr(RedshiftSQLHook, "get_conn", lambda self: Driver())
    return cursor


def stage(**kwargs) -> int:
    return StageToRedshiftOperator(
        task_id="stage_songs", table="staging_songs", s3_bucket=BUCKET, s3_key="songs/", json_format="auto",
        ledger_table="song_file_ledger", staged_files_table="staging_song_files", redshift_conn_id="cluster", **kwargs,
    ).execute(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))


def test_only_new_or_changed_files_are_copied_by_key(redshift):
    stage()
    copies = [s for s in redshift.statements if isinstance(s, str) and s.startswith("COPY")]
    assert len(copies) == 1 and f"FROM 's3://{BUCKET}/songs/b.json'" in copies[0]
    [(insert, rows)] = [s for s in redshift.statements if isinstance(s, tuple)]
    assert [r[0] for r in rows] == ["songs/b.json"]


def test_nothing_new_means_no_copy_but_a_cleared_staging_table(redshift, s3):
    redshift.ledger.append(("songs/b.json", s3.head_object(Bucket=BUCKET, Key="songs/b.json")["ETag"].strip('"'), 16))
    assert stage() == 0
    assert not [s for s in redshift.statements if isinstance(s, str) and s.startswith("COPY")]
    assert 'DELETE FROM "staging_songs"' in redshift.statements


def test_full_refresh_copies_the_prefix(redshift):
    stage(ignore_ledger="True")
    copies = [s for s in redshift.statements if isinstance(s, str) and s.startswith("COPY")]
    assert [c.split("\n")[1] for c in copies] == [f"FROM 's3://{BUCKET}/songs/'"]
    [(insert, rows)] = [s for s in redshift.statements if isinstance(s, tuple)]
    assert [r[0] for r in rows] == ["songs/a.json", "songs/b.json"]
