"""StageToRedshiftOperator with `object_cache`: the runs of one day COPY its file once.

On the real stack (moto S3, the Redshift emulator): the second run of a day fills its table from
the cached copy (no COPY in the emulator's statement log) with the same rows; a changed file, a
second day, different COPY options or an edited jsonpaths file get copies of their own; a file
overwritten between the listing and its COPY is never cached; concurrent runs COPY a file once; a
copy unused for the retention is dropped; a bad file fails at once and caches nothing. Expected
rows come from the JSON the test writes, never from project code.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException

from local_stack.sample_data import EVENT_FIELDS
from sparkify.operators import stage_to_redshift
from sparkify.operators.stage_to_redshift import StageToRedshiftOperator
from sparkify.s3copy import cached_staging
from sparkify.s3copy.cached_staging import CachedStaging
from sparkify.s3copy.objects import SourceChanged
from sparkify.staging import run_scoped
from tests.support import StatementLog, clear_prefix, ensure_bucket, put_objects, reset_schema, task_context

pytestmark = pytest.mark.integration

BUCKET = "sparkify-object-cache"
MANIFESTS = "s3://sparkify-object-cache-manifests/manifests/"
JSONPATHS = "jsonpaths/log_json_path.json"
DAY_FILE = "log_data/2018/11/2018-11-15-events.json"
NEXT_DAY_FILE = "log_data/2018/11/2018-11-16-events.json"
EPOCH = datetime(1970, 1, 1)
REGISTRY = "staged_object_cache"


def events(day: datetime, count: int, user: int = 7) -> list[dict]:
    """`count` NextSong events spread over `day`, one every 20 minutes."""
    return [
        {
            "artist": f"Artist {i}",
            "auth": "Logged In",
            "page": "NextSong",
            "song": f"Song {i}",
            "length": 200.0 + i,
            "sessionId": 100 + i,
            "itemInSession": i,
            "ts": int((day + timedelta(minutes=20 * i) - EPOCH) / timedelta(milliseconds=1)),
            "userId": str(user),
        }
        for i in range(count)
    ]


def ndjson(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def expected(records: list[dict], song_field: str = "song") -> list[tuple]:
    """(ts, userid, sessionid, song) as COPY with epochmillisecs loads them, sorted; `song` from
    `song_field` of each record (what a jsonpaths file that maps it there loads)."""
    return sorted(
        (EPOCH + timedelta(milliseconds=r["ts"]), int(r["userId"]), r["sessionId"], r[song_field]) for r in records
    )


def jsonpaths_document(song_field: str = "song") -> str:
    """A jsonpaths file for staging_events (EVENT_FIELDS is its column order) whose `song` column reads `song_field`."""
    return json.dumps({"jsonpaths": [f"$['{song_field if f == 'song' else f}']" for f in EVENT_FIELDS]})


def manifest_objects(s3) -> int:
    """Objects left under the manifest location (manifests and jsonpaths copies are deleted at the end)."""
    bucket, _, prefix = MANIFESTS[5:].partition("/")
    return s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0)


def copy_tables(db) -> int:
    return db.execute("SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE 'staged_object_cache__o%%'").fetchone()[0]


@pytest.fixture
def day_files(s3, db):
    reset_schema(db)
    ensure_bucket(s3, MANIFESTS[5:].split("/")[0])
    clear_prefix(s3, BUCKET, "")
    ensure_bucket(s3, BUCKET)
    files = {DAY_FILE: events(datetime(2018, 11, 15), 60), NEXT_DAY_FILE: events(datetime(2018, 11, 16), 30, user=8)}
    put_objects(s3, BUCKET, {**{k: ndjson(v) for k, v in files.items()}, JSONPATHS: jsonpaths_document()})
    return files


def stage(
    db, run_id: str, window=("2018-11-15T05:00:00", "2018-11-15T06:00:00"), retention="48h", **copy_options
) -> int:
    """Stage the window's day files into the run's own copy of staging_events, as the DAG does
    (`db`: create that table first; None: it exists)."""
    table = run_scoped("staging_events", run_id)  # reset_schema drops run tables
    if db is not None:
        db.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (LIKE staging_events INCLUDING DEFAULTS)')
    operator = StageToRedshiftOperator(
        task_id="stage_events",
        table=table,
        s3_bucket=BUCKET,
        s3_key="log_data/%Y/%m/%Y-%m-%d-events.json",
        copy_options={
            "json_format": f"s3://{BUCKET}/{JSONPATHS}",
            "timeformat": "epochmillisecs",
            "statupdate": True,
            **copy_options,
        },
        manifest_location=MANIFESTS,
        object_cache=CachedStaging(REGISTRY, retention),
    )
    return operator.execute(task_context(*window, run_id=run_id))


def staged(db, run_id: str) -> list[tuple]:
    table = run_scoped("staging_events", run_id)
    return sorted(db.execute(f'SELECT ts, userid, sessionid, song FROM "{table}"').fetchall())


def copies(db) -> list[tuple]:
    return db.execute(f"SELECT s3_uri, etag, size, row_count, rejected FROM {REGISTRY} ORDER BY s3_uri").fetchall()


def test_the_runs_of_one_day_copy_its_file_once(stack, db, s3, day_files):
    log = StatementLog(stack)
    assert stage(db, "h05") == 60
    assert stage(db, "h06", window=("2018-11-15T06:00:00", "2018-11-15T07:00:00")) == 60
    assert staged(db, "h05") == staged(db, "h06") == expected(day_files[DAY_FILE])
    assert len(log.copies()) == 1, log.copies()  # the second run inserted the copy's rows
    head = s3.head_object(Bucket=BUCKET, Key=DAY_FILE)
    assert copies(db) == [(f"s3://{BUCKET}/{DAY_FILE}", head["ETag"].strip('"'), head["ContentLength"], 60, 0)]
    # STATUPDATE ON: the run's table has statistics, as after a COPY (the fact load's plan needs them).
    analyzed = db.execute(
        "SELECT reltuples FROM pg_class WHERE relname = %s", (run_scoped("staging_events", "h06"),)
    ).fetchone()[0]
    assert analyzed == 60
    # The manifests and the copy of the jsonpaths file were deleted.
    assert manifest_objects(s3) == 0


def test_a_window_over_two_days_reuses_one_and_copies_the_other(stack, db, s3, day_files):
    stage(db, "h05")
    log = StatementLog(stack)
    assert stage(db, "late", window=("2018-11-15T23:00:00", "2018-11-16T01:00:00")) == 90
    assert len(log.copies()) == 1  # the next day's file only
    assert staged(db, "late") == expected(day_files[DAY_FILE] + day_files[NEXT_DAY_FILE])
    assert [row[3] for row in copies(db)] == [60, 30]


def test_a_changed_file_is_copied_again(stack, db, s3, day_files):
    stage(db, "h05")
    late = events(datetime(2018, 11, 15, 23, 30), 2, user=9)
    put_objects(s3, BUCKET, {DAY_FILE: ndjson(day_files[DAY_FILE] + late)})
    log = StatementLog(stack)
    assert stage(db, "h06") == 62
    assert len(log.copies()) == 1
    assert staged(db, "h06") == expected(day_files[DAY_FILE] + late)
    assert sorted(row[3] for row in copies(db)) == [60, 62]  # the old copy waits for its retention


def test_other_copy_options_get_a_copy_of_their_own(stack, db, s3, day_files):
    stage(db, "h05")
    log = StatementLog(stack)
    stage(db, "h06", blanks_as_null=True)
    assert len(log.copies()) == 1
    assert len(copies(db)) == 2


def test_an_edited_jsonpaths_file_is_copied_again(stack, db, s3, day_files):
    """The jsonpaths file is edited under the same URI: the copy made with the old mapping must not be
    reused. Redshift maps the n-th JSONPath expression to the n-th target column
    (https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html)."""
    stage(db, "h05")
    put_objects(s3, BUCKET, {JSONPATHS: jsonpaths_document(song_field="artist")})
    log = StatementLog(stack)
    assert stage(db, "h06") == 60
    assert len(log.copies()) == 1, log.copies()  # the day file again, with the new mapping
    assert staged(db, "h06") == expected(day_files[DAY_FILE], song_field="artist")
    assert staged(db, "h05") == expected(day_files[DAY_FILE])
    head = s3.head_object(Bucket=BUCKET, Key=DAY_FILE)
    same_file = (f"s3://{BUCKET}/{DAY_FILE}", head["ETag"].strip('"'), head["ContentLength"], 60, 0)
    assert copies(db) == [same_file, same_file]  # one copy per mapping of the same file version
    assert manifest_objects(s3) == 0  # the task's copy of the jsonpaths file was deleted
    # The copy is keyed by the file's contents, not by when it was written: the old mapping, written
    # again, finds its copy.
    put_objects(s3, BUCKET, {JSONPATHS: jsonpaths_document()})
    log = StatementLog(stack)
    assert stage(db, "h07", window=("2018-11-15T07:00:00", "2018-11-15T08:00:00")) == 60
    assert log.copies() == []
    assert staged(db, "h07") == expected(day_files[DAY_FILE])


def test_a_jsonpaths_file_edited_during_the_task_does_not_mix_mappings(stack, db, s3, day_files, monkeypatch):
    """The jsonpaths file is edited after the task read it and before its COPY: the COPY still loads
    with the mapping the copy is registered under, and the next run COPYs with the new one."""
    real_read = cached_staging.read_small_object

    def read_then_edit(*args, **kwargs):
        read = real_read(*args, **kwargs)
        put_objects(s3, BUCKET, {JSONPATHS: jsonpaths_document(song_field="artist")})
        return read

    monkeypatch.setattr(cached_staging, "read_small_object", read_then_edit)
    assert stage(db, "h05") == 60
    assert staged(db, "h05") == expected(day_files[DAY_FILE])  # the mapping the task read
    monkeypatch.undo()
    log = StatementLog(stack)
    assert stage(db, "h06") == 60
    assert len(log.copies()) == 1
    assert staged(db, "h06") == expected(day_files[DAY_FILE], song_field="artist")


def test_an_oversized_jsonpaths_file_fails_at_once(stack, db, s3, day_files):
    """The task reads the jsonpaths file to sign its copies; one over the bound is a configuration
    error (no retry), and nothing is read into the cache."""
    bound = cached_staging.JSONPATHS_MAX_BYTES
    put_objects(s3, BUCKET, {JSONPATHS: jsonpaths_document() + " " * bound})
    with pytest.raises(AirflowFailException, match=f"Bad jsonpaths file: .*larger than {bound} bytes"):
        stage(db, "h05")
    assert copies(db) == []


def same_size_rewrite(records: list[dict]) -> list[dict]:
    """The records with user 7 replaced by user 9: other rows in a file of the same size."""
    return [{**r, "userId": "9"} for r in records]


def with_late_events(records: list[dict]) -> list[dict]:
    return records + events(datetime(2018, 11, 15, 23, 30), 2, user=9)


@pytest.mark.parametrize(
    ("rewrite", "error"),
    [
        # Same size, other bytes: only the ETag shows it, checked by a HEAD after the COPY.
        (same_size_rewrite, SourceChanged),
        # Another size: the manifest's meta.content_length may already fail the COPY (a retryable
        # error too); otherwise the HEAD does.
        (with_late_events, Exception),
    ],
    ids=["same-size", "grown"],
)
def test_a_file_overwritten_after_the_listing_is_not_cached(stack, db, s3, day_files, monkeypatch, rewrite, error):
    """A writer replaces the day file between the task's listing and its COPY. S3 COPY reads by key
    and cannot pin a version (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html),
    so the copy could hold the new rows under the old ETag: the task fails with a retryable error
    (not AirflowFailException), keeps nothing, and its retry stages the new version under its ETag."""
    newer = rewrite(day_files[DAY_FILE])
    real_select = stage_to_redshift.select_objects

    def list_then_overwrite(*args, **kwargs):
        listed = real_select(*args, **kwargs)
        put_objects(s3, BUCKET, {DAY_FILE: ndjson(newer)})
        return listed

    monkeypatch.setattr(stage_to_redshift, "select_objects", list_then_overwrite)
    with pytest.raises(error, match="2018-11-15-events.json") as failure:
        stage(db, "h05")
    assert not isinstance(failure.value, AirflowFailException)  # the task's retries apply
    assert copies(db) == []
    assert copy_tables(db) == 0
    assert staged(db, "h05") == []
    assert manifest_objects(s3) == 0
    monkeypatch.undo()
    assert stage(db, "h05") == len(newer)  # the retry
    assert staged(db, "h05") == expected(newer)
    head = s3.head_object(Bucket=BUCKET, Key=DAY_FILE)
    uri = f"s3://{BUCKET}/{DAY_FILE}"
    assert copies(db) == [(uri, head["ETag"].strip('"'), head["ContentLength"], len(newer), 0)]


def test_concurrent_runs_copy_a_file_once(stack, db, s3, day_files):
    """A file large enough that its COPY outlasts the other runs' start: without the registry's lock
    each run would COPY it, and all but one would fail to create the same copy table."""
    day_files[DAY_FILE] = [
        e for minute in range(0, 24 * 60, 5) for e in events(datetime(2018, 11, 15) + timedelta(minutes=minute), 20)
    ]
    put_objects(s3, BUCKET, {DAY_FILE: ndjson(day_files[DAY_FILE])})
    log = StatementLog(stack)
    runs = [f"c{i}" for i in range(4)]
    errors: list[BaseException] = []

    def run(run_id: str) -> None:
        try:
            stage(None, run_id)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(r,)) for r in runs]
    for r in runs:  # the tables first: CREATE TABLE from three sessions at once is not the point here
        db.execute(f'CREATE TABLE "{run_scoped("staging_events", r)}" (LIKE staging_events INCLUDING DEFAULTS)')
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(log.copies()) == 1
    assert len(copies(db)) == 1
    for r in runs:
        assert staged(db, r) == expected(day_files[DAY_FILE])


def test_a_copy_unused_for_the_retention_is_dropped(stack, db, s3, day_files):
    stage(db, "h05")
    [(old,)] = db.execute(f"SELECT table_name FROM {REGISTRY}").fetchall()
    db.execute(f"UPDATE {REGISTRY} SET used_at = used_at - INTERVAL '3 hours'")
    stage(db, "next", window=("2018-11-16T05:00:00", "2018-11-16T06:00:00"), retention="2h")
    assert [row[0] for row in copies(db)] == [f"s3://{BUCKET}/{NEXT_DAY_FILE}"]
    assert db.execute("SELECT COUNT(*) FROM pg_tables WHERE tablename = %s", (old,)).fetchone()[0] == 0
    # A copy in use now is kept, whatever the retention.
    stage(db, "next2", window=("2018-11-16T06:00:00", "2018-11-16T07:00:00"), retention="1m")
    assert len(copies(db)) == 1


def test_a_bad_file_fails_at_once_and_caches_nothing(stack, db, s3, day_files):
    lines = ndjson(day_files[DAY_FILE]).splitlines()
    lines[4] = lines[4].replace('"userId": "7"', '"userId": "seven"')
    put_objects(s3, BUCKET, {DAY_FILE: "\n".join(lines) + "\n"})
    with pytest.raises(AirflowFailException, match="2018-11-15-events.json"):
        stage(db, "h05")
    assert copies(db) == []
    assert copy_tables(db) == 0
    assert staged(db, "h05") == []


def test_the_object_cache_needs_a_manifest_location_and_keys():
    common = {"task_id": "t", "table": "staging_events", "object_cache": CachedStaging(REGISTRY)}
    with pytest.raises(ValueError, match="object_cache needs manifest_location"):
        StageToRedshiftOperator(s3_bucket=BUCKET, s3_key=DAY_FILE, **common)
    with pytest.raises(ValueError, match="manifest loads the manifest given"):
        StageToRedshiftOperator(manifest=f"s3://{BUCKET}/m.manifest", **common)


def test_the_cache_strategy_alone_copies_a_file_once_for_two_tables(stack, db, s3, day_files):
    """CachedStaging without the operator: given the objects, a COPY spec and where to write its
    scratch objects, it fills two tables from one COPY and leaves no scratch object behind."""
    import logging

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from sparkify.s3copy.objects import select_objects
    from sparkify.s3copy.redshift_copy import copy_credentials
    from sparkify.s3copy.spec import CopyOptions, CopySpec
    from sparkify.warehouse import warehouse_hook

    scratch_bucket, _, scratch_prefix = MANIFESTS[5:].partition("/")
    s3_hook = S3Hook(aws_conn_id="aws_default", region_name="us-west-2")
    rejects: list = []
    cache = CachedStaging(REGISTRY, timedelta(hours=48))
    io = cached_staging.CacheIO(
        s3_hook=s3_hook,
        scratch=lambda part, suffix: (scratch_bucket, f"{scratch_prefix}strategy/{part}.{suffix}"),
        log=logging.getLogger("test_cached_staging"),
        log_rejects=rejects.append,
    )
    options = CopyOptions(json_format=f"s3://{BUCKET}/{JSONPATHS}", timeformat="epochmillisecs", manifest=True)
    objects = select_objects(s3_hook, BUCKET, [DAY_FILE])
    assert [o.key for o in objects] == [DAY_FILE]
    log = StatementLog(stack)
    for run_id in ("a", "b"):
        table = run_scoped("staging_events", run_id)
        db.execute(f'CREATE TABLE "{table}" (LIKE staging_events INCLUDING DEFAULTS)')
        spec = CopySpec(table=table, bucket=BUCKET, keys=(DAY_FILE,), options=options)
        hook = warehouse_hook("redshift", application_name="test_cached_staging")
        assert cache.stage(hook, spec, copy_credentials("aws_default"), objects, io) == 60
        assert staged(db, run_id) == expected(day_files[DAY_FILE])
    assert len(log.copies()) == 1, log.copies()
    assert [row[0] for row in copies(db)] == [f"s3://{BUCKET}/{DAY_FILE}"] and rejects == []
    assert manifest_objects(s3) == 0
