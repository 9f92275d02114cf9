"""The incremental song stage on the `redshift` connection, run for real through the emulator.

The selection task lists the local S3, reads the ledger over redshift_connector and writes one
manifest of exactly the new or changed objects; the stage task runs one `COPY ... MANIFEST` of it
and records the files it staged. The COPYs are counted in the emulator's statement log; the
manifest is read back from the bucket, where it stays for a retry of the stage task.
"""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from sparkify.operators import SelectNewObjectsOperator, StageToRedshiftOperator
from tests.support import StatementLog, clear_prefix, ensure_bucket, put_objects, reset_schema, task_context

pytestmark = pytest.mark.integration
BUCKET = "sparkify-redshift-path"
MANIFEST_BUCKET = "sparkify-redshift-path-manifests"
MANIFEST_NAME = "/select_song_files/test_run.manifest"  # under <manifest_location>/<dag_id>
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


def select(full_refresh: bool | str = False, **kwargs) -> str:
    """select_song_files, as the DAG runs it: the URI of its manifest."""
    return SelectNewObjectsOperator(
        task_id="select_song_files",
        s3_bucket=BUCKET,
        s3_key="songs/",
        ledger_table="song_file_ledger",
        manifest_location=f"s3://{MANIFEST_BUCKET}/manifests/",
        full_refresh=full_refresh,
        **kwargs,
    ).execute(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))


def stage(stack, full_refresh: bool | str = False) -> tuple[int, StatementLog]:
    """select_song_files, then stage_songs on the manifest it returned, as the DAG runs them."""
    log = StatementLog(stack)
    context = task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00")
    manifest = select(full_refresh)
    rows = StageToRedshiftOperator(
        task_id="stage_songs",
        table="staging_songs",
        manifest=manifest,
        staged_files_table="staging_song_files",
    ).execute(context)
    return rows, log


def kept_manifest(s3, source: str) -> dict:
    """The manifest a COPY read, still in place (a retry of the stage task reads it again): one version."""
    key = source.removeprefix(f"s3://{MANIFEST_BUCKET}/")
    listed = s3.list_object_versions(Bucket=MANIFEST_BUCKET, Prefix=key)
    assert [m for m in listed.get("DeleteMarkers", []) if m["Key"] == key] == []
    [version] = [v for v in listed.get("Versions", []) if v["Key"] == key]
    return json.loads(s3.get_object(Bucket=MANIFEST_BUCKET, Key=key, VersionId=version["VersionId"])["Body"].read())


def manifest_entries(heads: dict, *keys: str) -> list[dict]:
    """The entries a selection manifest has for `keys`: COPY's url, mandatory and length (ETags go beside it)."""
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
    assert source.startswith(f"s3://{MANIFEST_BUCKET}/manifests/") and source.endswith(MANIFEST_NAME)
    assert table == "staging_songs"
    assert kept_manifest(s3, source) == {"entries": manifest_entries(songs, "songs/b.json", "songs/c.json")}
    assert kept_manifest(s3, f"{source}.etags.json") == {
        f"s3://{BUCKET}/{key}": songs[key]["ETag"].strip('"') for key in ("songs/b.json", "songs/c.json")
    }
    assert staged(db) == (["B", "C"], file_rows(songs, "songs/b.json", "songs/c.json"))


def test_a_manifest_without_its_etags_fails_the_stage_at_once_and_changes_nothing(stack, db, s3, songs):
    manifest = select()
    sidecar = f"{manifest}.etags.json"
    s3.delete_object(Bucket=MANIFEST_BUCKET, Key=sidecar.removeprefix(f"s3://{MANIFEST_BUCKET}/"))
    log = StatementLog(stack)

    with pytest.raises(AirflowFailException, match=f"{sidecar}, the ETags of {manifest}"):
        StageToRedshiftOperator(
            task_id="stage_songs", table="staging_songs", manifest=manifest, staged_files_table="staging_song_files"
        ).execute(task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00"))

    assert log.copies() == []
    assert staged(db) == (["SOEARLIER"], [("songs/earlier.json", "x", 1)])


def test_old_manifests_are_deleted_with_their_etags_and_the_new_ones_kept(db, s3, songs):
    folder = select().removeprefix(f"s3://{MANIFEST_BUCKET}/").rsplit("/", 1)[0]
    put_objects(s3, MANIFEST_BUCKET, {f"{folder}/old.manifest": "{}", f"{folder}/old.manifest.etags.json": "{}"})
    put_objects(s3, MANIFEST_BUCKET, {f"{folder}/orphan.manifest.etags.json": "{}"})

    manifest = select(manifest_retention="0s").removeprefix(f"s3://{MANIFEST_BUCKET}/")

    kept = [o["Key"] for o in s3.list_objects_v2(Bucket=MANIFEST_BUCKET, Prefix=folder)["Contents"]]
    assert kept == [manifest, f"{manifest}.etags.json"]


def test_nothing_new_means_no_copy_but_a_cleared_staging_table(stack, db, s3, songs):
    for key in SONGS:
        in_ledger(db, songs, key)

    rows, log = stage(stack)

    assert rows == 0
    assert log.copies() == []
    assert any(line.endswith('DELETE FROM "staging_songs"') for line in log.lines()), log.lines()
    assert staged(db) == ([], [])
    [key] = [
        o["Key"] for o in s3.list_objects_v2(Bucket=MANIFEST_BUCKET)["Contents"] if o["Key"].endswith(MANIFEST_NAME)
    ]
    assert kept_manifest(s3, f"s3://{MANIFEST_BUCKET}/{key}") == {"entries": []}  # nothing new, said explicitly


def test_full_refresh_copies_every_object_in_one_copy(stack, db, s3, songs):
    for key in SONGS:
        in_ledger(db, songs, key)

    rows, log = stage(stack, full_refresh="True")

    assert rows == 3
    [(table, source)] = log.copies()
    assert table == "staging_songs"
    assert kept_manifest(s3, source) == {"entries": manifest_entries(songs, *SONGS)}
    assert staged(db) == (["A", "B", "C"], file_rows(songs, *SONGS))
