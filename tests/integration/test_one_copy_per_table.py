"""A first run over a real-sized song catalogue issues one COPY per staging table, counted in the emulator's log."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from local_stack.warehouse_server import WarehouseServer
from sparkify.operators import SelectNewObjectsOperator, StageToRedshiftOperator
from tests.support import clear_prefix, ensure_bucket, reset_schema, task_context

pytestmark = pytest.mark.integration
BUCKET = "sparkify-catalogue"
SONG_FILES = 2000
CONTEXT = task_context("2018-11-15T00:00:00", "2018-11-15T01:00:00", run_id="scheduled__catalogue")
COPY_LINE = re.compile(r"pid=\d+ COPY (\S+) FROM (s3://\S+)")


def song_key(i: int) -> str:
    return f"song_data/{'ABC'[i % 3]}/{'DEF'[i // 3 % 3]}/{'GHI'[i // 9 % 3]}/TR{i:06d}.json"


@pytest.fixture(scope="module")
def catalogue(s3):
    clear_prefix(s3, BUCKET, "")
    ensure_bucket(s3, BUCKET)
    event = {"artist": "A", "song": "S", "length": 1.0, "page": "NextSong", "ts": 1542240000000, "userId": "1"}
    bodies = {
        song_key(i): json.dumps(
            {
                "song_id": f"SO{i:06d}",
                "title": f"song {i}",
                "artist_id": f"AR{i % 97}",
                "duration": 200.5,
                "year": 2000 + i % 20,
                "num_songs": 1,
            }
        )
        for i in range(SONG_FILES)
    }
    bodies["log_data/2018/11/2018-11-15-events.json"] = json.dumps(event)
    bodies["log_data/2018/11/2018-11-15-events.json.bak"] = json.dumps({**event, "userId": "999"})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=BUCKET, Key=item[0], Body=item[1].encode()), bodies.items()))


def copies_logged(stack) -> list[tuple[str, str]]:
    log = WarehouseServer(stack).statement_log
    return COPY_LINE.findall(log.read_text()) if log.exists() else []


def test_a_first_run_over_2000_song_files_issues_one_copy_per_table(stack, db, s3, catalogue):
    reset_schema(db)
    before = len(copies_logged(stack))
    common = {"s3_bucket": BUCKET, "manifest_location": "s3://sparkify-staging/manifests/"}
    clear_prefix(s3, "sparkify-staging", "manifests/")
    selection = SelectNewObjectsOperator(
        task_id="select_song_files",
        s3_key="song_data/",
        ledger_table="song_file_ledger",
        region="us-west-2",
        **common,
    ).execute(CONTEXT)
    songs = StageToRedshiftOperator(
        task_id="stage_songs",
        table="staging_songs",
        manifest=selection,
        staged_files_table="staging_song_files",
        copy_options={"region": "us-west-2"},
    )
    events = StageToRedshiftOperator(
        task_id="stage_events",
        table="staging_events",
        s3_key="log_data/%Y/%m/%Y-%m-%d-events.json",
        copy_options={"timeformat": "epochmillisecs", "json_format": "auto ignorecase", "region": "us-west-2"},
        **common,
    )
    assert songs.execute(CONTEXT) == SONG_FILES
    assert events.execute(CONTEXT) == 1

    copies = copies_logged(stack)[before:]
    assert [table for table, _ in copies] == ["staging_songs", "staging_events"]
    assert copies[0][1] == selection
    assert all(source.startswith("s3://sparkify-staging/manifests/") for _, source in copies)
    assert db.execute("SELECT count(*) FROM staging_song_files").fetchone() == (SONG_FILES,)
    assert db.execute("SELECT userid FROM staging_events").fetchall() == [(1,)]  # never the .bak file
    leftovers = s3.list_objects_v2(Bucket="sparkify-staging", Prefix="manifests/").get("Contents", [])
    # stage_events deletes its own manifest once its COPY has run; the selection's (and its ETags) stays for a retry
    assert [f"s3://sparkify-staging/{o['Key']}" for o in leftovers] == [selection, f"{selection}.etags.json"]
