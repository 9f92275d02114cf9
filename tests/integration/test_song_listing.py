"""Incremental song staging over the song_data/A/B/C/ layout, listed folder by folder in parallel.

Song keys are `TR` plus random characters, so a new file can sort anywhere, before every key
the ledger knows. The selection task therefore lists every key (its folders in parallel) and
compares the listing with the ledger, in Python or (with a listing table) in the warehouse; the
stage task COPYs the manifest it writes. These tests check
that the parallel listing is the prefix's listing, that a run with nothing new issues no COPY
and leaves the ledger as it was, that one new file is staged wherever it sorts, and that a
recorded listing is reused only while it is younger than the maximum age, by one task at a time.
The COPYs are counted in the emulator's statement log, and the expected keys come from boto3's
own listing and from the files the test writes.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from airflow.sdk.exceptions import AirflowFailException

import sparkify.operators.select_new_objects as select_module
from sparkify.operators import SelectNewObjectsOperator, StageToRedshiftOperator
from sparkify.s3copy.objects import list_objects
from tests.support import StatementLog, clear_prefix, ensure_bucket, put_objects, reset_schema, task_context

pytestmark = pytest.mark.integration
BUCKET = "sparkify-song-listing"
MANIFEST_BUCKET = "sparkify-song-listing-manifests"
PREFIX = "song_data/"
TRACKS = [
    "TRAAAMM128F42A1B2C",
    "TRAABQX128F92B3C4D",
    "TRABCZZ12903CE5F6A",
    "TRBAAKL128F4281234",
    "TRBZZQQ12903D0FFFF",
    "TRCMMNN128F92A0A0A",
    "TRZZZYY128F4299999",
    "TRQRSTU12903CB0001",
]
# A new file sorting before every existing key, in an existing leaf folder, and one in a new folder.
BEFORE_EVERY_KEY = f"{PREFIX}A/A/A/TRAAAAA000000000001.json"
IN_A_NEW_FOLDER = f"{PREFIX}0/0/0/TR00000000000000001.json"


def song_key(track: str) -> str:
    return f"{PREFIX}{track[2]}/{track[3]}/{track[4]}/{track}.json"


def song_body(track: str) -> str:
    return json.dumps({"song_id": "SO" + track[2:], "title": f"Song {track}", "num_songs": 1, "duration": 200.5})


def boto3_listing(s3, prefix: str) -> list[tuple[str, str, int]]:
    """One plain paginated listing, the reference the parallel listing must equal."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [
        (item["Key"], item["ETag"].strip('"'), item["Size"])
        for page in pages
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")
    ]


@pytest.fixture
def catalogue(s3, db):
    """The songs in the A/B/C layout, a file straight under the prefix, a folder marker, a neighbour prefix."""
    reset_schema(db)
    ensure_bucket(s3, MANIFEST_BUCKET)
    clear_prefix(s3, BUCKET, "")
    files = {song_key(track): song_body(track) for track in TRACKS}
    files[f"{PREFIX}TRTOPLEVEL0000000.json"] = song_body("TRTOPLEVEL0000000")
    put_objects(s3, BUCKET, {**files, f"{PREFIX}B/": "", "song_data_old/X/TRX.json": song_body("TRX")})
    return files


def stage(
    stack, table: str = "staging_songs", files_table: str = "staging_song_files", run_id: str = "test_run", **options
) -> tuple[int, StatementLog]:
    """select_song_files with `options`, then stage_songs on its manifest, as the DAG runs them."""
    log = StatementLog(stack)
    context = task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00", run_id=run_id)
    manifest = SelectNewObjectsOperator(
        task_id="select_song_files",
        s3_bucket=BUCKET,
        s3_key=PREFIX,
        ledger_table="song_file_ledger",
        manifest_location=f"s3://{MANIFEST_BUCKET}/manifests/",
        **options,
    ).execute(context)
    rows = StageToRedshiftOperator(
        task_id="stage_songs", table=table, manifest=manifest, staged_files_table=files_table
    ).execute(context)
    return rows, log


def manifest_entries(s3, run_id: str = "test_run") -> list:
    """The entries of the manifest the selection task wrote for `run_id`."""
    [key] = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=MANIFEST_BUCKET, Prefix="manifests/").get("Contents", [])
        if o["Key"].endswith(f"/select_song_files/{run_id}.manifest")
    ]
    return json.loads(s3.get_object(Bucket=MANIFEST_BUCKET, Key=key)["Body"].read())["entries"]


# The same selection, compared in Python (no listing table) and in the warehouse (listing every time).
SELECTIONS = pytest.mark.parametrize(
    "selection", [{}, {"listing_table": "song_file_listing"}], ids=["compared-in-python", "compared-in-warehouse"]
)
REUSE = {"listing_table": "song_file_listing", "listing_max_age": "15m"}


def publish_ledger(db) -> None:
    """What publish does with the staged files (include/sql/song_file_ledger_update.sql), run-scoping aside."""
    db.execute("DELETE FROM song_file_ledger USING staging_song_files f WHERE song_file_ledger.s3_key = f.s3_key")
    db.execute(
        "INSERT INTO song_file_ledger (s3_key, etag, size, loaded_at) "
        "SELECT s3_key, etag, size, TIMESTAMP '2018-11-15 01:00:00' FROM staging_song_files"
    )


def ledger(db) -> list[tuple]:
    return db.execute("SELECT s3_key, etag, size, loaded_at FROM song_file_ledger ORDER BY s3_key").fetchall()


def staged_keys(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT s3_key FROM staging_song_files ORDER BY s3_key").fetchall()]


@pytest.mark.parametrize("page_size", [None, 1, 2, 3, 5])
@pytest.mark.parametrize("threads", [1, 2, 8])
def test_the_parallel_listing_is_the_prefixes_listing(s3, catalogue, threads, page_size):
    """With small pages the first page ends inside a folder, and the rest is listed folder by folder."""
    expected = boto3_listing(s3, PREFIX)
    assert len(expected) == len(TRACKS) + 1  # the folder marker and the neighbour prefix are not in it
    listed = list_objects(s3, BUCKET, PREFIX, threads=threads, page_size=page_size)
    assert [(o.key, o.etag, o.size) for o in listed] == expected
    # A prefix that is not a folder, and an exact key: the same objects as one listing.
    assert [o.key for o in list_objects(s3, BUCKET, "song_data", threads=threads, page_size=page_size)] == [
        k for k, _, _ in boto3_listing(s3, "song_data")
    ]
    key = song_key(TRACKS[0])
    assert [o.key for o in list_objects(s3, BUCKET, key, threads=threads, page_size=page_size)] == [key]


def test_a_large_prefix_is_listed_in_parallel(s3, catalogue):
    """Past the first page, the folders after its last key are listed on several threads at once."""
    import threading

    seen: set[str] = set()
    real = s3.list_objects_v2

    class Recording:
        def __getattr__(self, name):
            return getattr(s3, name)

        def list_objects_v2(self, **params):
            seen.add(threading.current_thread().name)
            return real(**params)

        def get_paginator(self, name):
            paginator = s3.get_paginator(name)
            original = paginator.paginate

            def paginate(**params):
                seen.add(threading.current_thread().name)
                return original(**params)

            paginator.paginate = paginate
            return paginator

    listed = list_objects(Recording(), BUCKET, PREFIX, threads=4, page_size=2)
    assert [o.key for o in listed] == [k for k, _, _ in boto3_listing(s3, PREFIX)]
    assert any(name.startswith("s3-list") for name in seen), seen


@SELECTIONS
def test_nothing_new_issues_no_copy_and_leaves_the_ledger_unchanged(stack, s3, db, catalogue, selection):
    rows, log = stage(stack, **selection)
    assert rows == len(catalogue) and len(log.copies()) == 1
    assert staged_keys(db) == sorted(catalogue)
    publish_ledger(db)
    before = ledger(db)
    assert [r[0] for r in before] == sorted(catalogue)

    rows, log = stage(stack, **selection)

    assert rows == 0
    assert log.copies() == []
    assert staged_keys(db) == []
    assert db.execute("SELECT COUNT(*) FROM staging_songs").fetchone()[0] == 0
    assert ledger(db) == before
    assert manifest_entries(s3) == []  # nothing new: a manifest with no entries


@SELECTIONS
@pytest.mark.parametrize("new_key", [BEFORE_EVERY_KEY, IN_A_NEW_FOLDER])
def test_one_new_file_is_staged_wherever_it_sorts(stack, s3, db, catalogue, new_key, selection):
    stage(stack, **selection)
    publish_ledger(db)
    before = ledger(db)
    assert new_key < min(catalogue), "the new key sorts before every key the ledger holds"
    put_objects(s3, BUCKET, {new_key: song_body("TR" + new_key.rsplit("TR", 1)[1].removesuffix(".json"))})

    rows, log = stage(stack, **selection)

    assert rows == 1
    [(table, source)] = log.copies()
    assert table == "staging_songs" and source.startswith(f"s3://{MANIFEST_BUCKET}/manifests/")
    assert staged_keys(db) == [new_key]
    assert ledger(db) == before  # the stage task never writes the ledger: publish does
    publish_ledger(db)
    assert [r[0] for r in ledger(db)] == sorted([*catalogue, new_key])
    rows, log = stage(stack, **selection)
    assert (rows, log.copies()) == (0, [])


def listing(db) -> tuple[list[tuple], set]:
    """The recorded listing (key, etag, size) and its listed_at values."""
    rows = db.execute("SELECT s3_key, etag, size, listed_at, source FROM song_file_listing ORDER BY s3_key").fetchall()
    assert {r[4] for r in rows} <= {f"s3://{BUCKET}/{PREFIX}"}
    return [tuple(r[:3]) for r in rows], {r[3] for r in rows}


def test_a_recent_listing_is_reused_and_an_old_one_is_not(stack, s3, db, catalogue):
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    rows, _ = stage(stack, **REUSE)
    assert rows == len(catalogue)
    recorded, [first] = listing(db)
    assert recorded == boto3_listing(s3, PREFIX)
    assert before <= first <= datetime.now(timezone.utc).replace(tzinfo=None)
    publish_ledger(db)
    put_objects(s3, BUCKET, {BEFORE_EVERY_KEY: song_body("TRAAAAA000000000001")})

    rows, log = stage(stack, **REUSE)  # the listing is younger than 15 minutes: the new file waits
    assert (rows, log.copies(), staged_keys(db)) == (0, [], [])
    assert listing(db) == (recorded, {first})

    db.execute("UPDATE song_file_listing SET listed_at = listed_at - INTERVAL '16 minutes'")
    rows, log = stage(stack, **REUSE)  # now older than 15 minutes: listed again
    assert (rows, len(log.copies()), staged_keys(db)) == (1, 1, [BEFORE_EVERY_KEY])
    recorded, [second] = listing(db)
    assert recorded == boto3_listing(s3, PREFIX) and [r[0] for r in recorded] == sorted([*catalogue, BEFORE_EVERY_KEY])
    assert second > first - timedelta(minutes=16)


def test_max_age_zero_lists_every_time(stack, s3, db, catalogue):
    stage(stack, listing_table="song_file_listing", listing_max_age="0")
    publish_ledger(db)
    put_objects(s3, BUCKET, {IN_A_NEW_FOLDER: song_body("TR00000000000000001")})
    rows, _ = stage(stack, listing_table="song_file_listing", listing_max_age=timedelta(0))
    assert (rows, staged_keys(db)) == (1, [IN_A_NEW_FOLDER])


def test_a_full_refresh_lists_again_however_recent_the_listing(stack, s3, db, catalogue):
    stage(stack, **REUSE)
    publish_ledger(db)
    put_objects(s3, BUCKET, {IN_A_NEW_FOLDER: song_body("TR00000000000000001")})
    rows, _ = stage(stack, full_refresh=True, **REUSE)
    assert rows == len(catalogue) + 1
    assert staged_keys(db) == sorted([*catalogue, IN_A_NEW_FOLDER])
    assert [r[0] for r in listing(db)[0]] == staged_keys(db)


def test_concurrent_tasks_list_the_source_once(stack, s3, db, catalogue, monkeypatch):
    """Three tasks at once: the first lists while holding the listing table, the others wait and reuse it."""
    listings = []
    real = select_module.select_objects

    def counted(*args, **kwargs):
        listings.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(select_module, "select_objects", counted)
    for n in range(3):
        db.execute(f"CREATE TABLE staging_songs_{n} (LIKE staging_songs)")
        db.execute(f"CREATE TABLE staging_song_files_{n} (LIKE staging_song_files)")
    with ThreadPoolExecutor(3) as pool:
        results = list(
            pool.map(
                lambda n: stage(stack, f"staging_songs_{n}", f"staging_song_files_{n}", f"run_{n}", **REUSE), range(3)
            )
        )

    assert len(listings) == 1
    assert [rows for rows, _ in results] == [len(catalogue)] * 3  # nothing is in the ledger yet: all stage all
    for n in range(3):
        keys = db.execute(f"SELECT s3_key FROM staging_song_files_{n} ORDER BY s3_key").fetchall()
        assert [k for (k,) in keys] == sorted(catalogue)


@pytest.mark.parametrize("max_age", ["soon", "-5", "8d", "169h"])
def test_a_bad_max_age_fails_at_once(stack, s3, db, catalogue, max_age):
    with pytest.raises(AirflowFailException, match=rf"listing_max_age={max_age!r} is not a usable duration"):
        stage(stack, listing_table="song_file_listing", listing_max_age=max_age)
    assert listing(db) == ([], set())
