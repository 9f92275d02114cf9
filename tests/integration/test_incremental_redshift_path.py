"""The incremental song stage on the `redshift` connection, run for real through the emulator.

The task lists the local S3, reads the ledger over redshift_connector, writes one manifest of
exactly the new or changed objects and runs one `COPY ... MANIFEST`. The COPYs are counted in the
emulator's statement log; the manifest is read back from a versioned bucket after the task has
deleted it.
"""

from __future__ import annotations

import json

import pytest

from sparkify.operators import StageToRedshiftOperator
from tests.support import StatementLog, clear_prefix, ensure_bucket, put_objects, reset_schema, task_context

pytestmark = pytest.mark.integration
BUCKET = "sparkify-redshift-path"
MANIFEST_BUCKET = "sparkify-redshift-path-manifests"
SONGS = {"songs/a.json": '{"song_id": "A"}', "songs/b.json": '{"song_id": "B"}', "songs/c.json": '{"song_id": "C"}'}


@pytest.fixture
def songs(s3, db):
    """Three song files, an empty ledger and staging tables with a row left from an earlier run."""
    reset_schema(db)
    db.execute("INSERT INTO staging_songs (song_id) VALUES ('SOEARLIER')")
    db.execute("INSERT INTO staging_song_files (s3_key, etag, size) VALUES ('songs/earlier.json', 'x', 1)")
    clear_prefix(s3, BUCKET, "")
    put_objects(s3, BUCKET, SONGS)
    ensure_bucket(s3, MANIFEST_BUCKET)
    s3.put_bucket_versioning(Bucket=MANIFEST_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    listed = s3.list_object_versions(Bucket=MANIFEST_BUCKET)
    for version in listed.get("Versions", []) + listed.get("DeleteMarkers", []):  # earlier tests' manifests
        s3.delete_object(Bucket=MANIFEST_BUCKET, Key=version["Key"], VersionId=version["VersionId"])
    return {key: s3.head_object(Bucket=BUCKET, Key=key) for key in SONGS}


def in_ledger(db, heads: dict, key: str, etag: str | None = None) -> None:
    head = heads[key]
    db.execute(
        "INSERT INTO song_file_ledger (s3_key, etag, size, loaded_at) VALUES (%s, %s, %s, now())",
        (key, etag or head["ETag"].strip('"'), head["ContentLength"]),
    )


def stage(stack, **kwargs) -> tuple[int, StatementLog]:
    log = StatementLog(stack)
    rows = StageToRedshiftOperator(
        task_id="stage_songs",
        table="staging_songs",
        s3_bucket=BUCKET,
        s3_key="songs/",
        json_format="auto",
        ledger_table="song_file_ledger",
        staged_files_table="staging_song_files",
        manifest_location=f"s3://{MANIFEST_BUCKET}/manifests/",
        **kwargs,
    ).execute(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))
    return rows, log


def deleted_manifest(s3, source: str) -> dict:
    """The manifest a COPY read, now deleted: its only version, under a delete marker."""
    key = source.removeprefix(f"s3://{MANIFEST_BUCKET}/")
    listed = s3.list_object_versions(Bucket=MANIFEST_BUCKET, Prefix=key)
    [version] = [v for v in listed.get("Versions", []) if v["Key"] == key]
    [marker] = [m for m in listed.get("DeleteMarkers", []) if m["Key"] == key]
    assert marker["IsLatest"], "the task deletes its manifest"
    return json.loads(s3.get_object(Bucket=MANIFEST_BUCKET, Key=key, VersionId=version["VersionId"])["Body"].read())


def manifest_entries(heads: dict, *keys: str) -> list[dict]:
    return [
        {"url": f"s3://{BUCKET}/{key}", "mandatory": True, "meta": {"content_length": heads[key]["ContentLength"]}}
        for key in keys
    ]


def staged(db) -> tuple[list, list]:
    """The staged song ids, and the (s3_key, etag, size) rows recorded for the staged files."""
    files = db.execute("SELECT s3_key, etag, size FROM staging_song_files ORDER BY s3_key").fetchall()
    songs = [r[0] for r in db.execute("SELECT song_id FROM staging_songs ORDER BY song_id").fetchall()]
    return songs, files


def file_rows(heads: dict, *keys: str) -> list[tuple]:
    return [(key, heads[key]["ETag"].strip('"'), heads[key]["ContentLength"]) for key in keys]


def test_only_new_or_changed_files_are_copied_in_one_copy_of_an_exact_manifest(stack, db, s3, songs):
    in_ledger(db, songs, "songs/a.json")  # unchanged: skipped
    in_ledger(db, songs, "songs/c.json", etag="0" * 32)  # changed since it was loaded: staged again

    rows, log = stage(stack)

    assert rows == 2
    [(table, source)] = log.copies()
    assert table == "staging_songs" and source.startswith(f"s3://{MANIFEST_BUCKET}/manifests/")
    assert source.endswith(".manifest")
    assert deleted_manifest(s3, source) == {"entries": manifest_entries(songs, "songs/b.json", "songs/c.json")}
    assert staged(db) == (["B", "C"], file_rows(songs, "songs/b.json", "songs/c.json"))


def test_nothing_new_means_no_copy_but_a_cleared_staging_table(stack, db, s3, songs):
    for key in SONGS:
        in_ledger(db, songs, key)

    rows, log = stage(stack)

    assert rows == 0
    assert log.copies() == []
    assert any(line.endswith('DELETE FROM "staging_songs"') for line in log.lines()), log.lines()
    assert staged(db) == ([], [])
    assert s3.list_object_versions(Bucket=MANIFEST_BUCKET).get("Versions", []) == []  # no manifest written


def test_full_refresh_copies_every_object_in_one_copy(stack, db, s3, songs):
    for key in SONGS:
        in_ledger(db, songs, key)

    rows, log = stage(stack, ignore_ledger="True")

    assert rows == 3
    [(table, source)] = log.copies()
    assert table == "staging_songs"
    assert deleted_manifest(s3, source) == {"entries": manifest_entries(songs, *SONGS)}
    assert staged(db) == (["A", "B", "C"], file_rows(songs, *SONGS))
