"""Stage songs: our operator's load of many small files, the parallel-GET floor, the sequential peer.

On the whole catalogue, as a first run (the ledger emptied before each load): our load, and the
floor (every file fetched by a thread pool). Ours lists the files, writes a manifest of all of
them and sends one `COPY ... MANIFEST` to the emulator, whose process fetches and parses them;
the COPYs the emulator logs during each of our loads are counted (the issue: exactly one). The
sequential peer races our load on the first `peer_songs` files (all of them unless the scale
caps it), uploaded under a prefix of their own; it writes straight to PostgreSQL, as the events
peers do (see bench/stage_events.py).

Then nothing new: the ledger is filled with every staged file, as publish fills it, and our
task runs again, raced against a bare listing of the prefix (boto3's paginator, one request
after another, the way most code lists a prefix): as a scheduled run renders it (it lists the
prefix and records the listing), and as a backfill run renders it (it reuses that listing, made
moments before). A run with nothing new must issue no COPY (counted in the emulator's log) and
stage no row.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench import peers
from bench.pipeline import DagRun, variables
from bench.stack import BUCKET, PEER_CONN_ID, PrivateStack
from bench.timing import Contender, race
from bench.workload import SONG_PREFIX

PEER_PREFIX = "songs-sample/"  # + SONG_PREFIX: the first peer_songs files, when the peer is capped
# The floor's thread count. The local S3 (one moto process) is the bottleneck. Fetching 3,000
# song files here: 1 thread 221 files/s, 4 threads 311, 8 370-410, 16 395-450, 32 425-496,
# 64 390-458: from 8 threads on, the differences are noise.
FLOOR_THREADS = 16
FINGERPRINT_SQL = """
SELECT COUNT(*), COUNT(DISTINCT song_id), COUNT(artist_id), SUM(num_songs), SUM(year),
       ROUND(SUM(duration)::NUMERIC, 3), ROUND(SUM(artist_latitude)::NUMERIC, 3), SUM(LENGTH(title))
FROM {table}
"""
OURS, FLOOR = "ours", "floor: parallel GET"
OURS_ON_SAMPLE, SEQUENTIAL = "ours, on the peer's input", "peer: sequential S3Hook.read_key"
NOTHING_NEW, BARE_LISTING = "ours, nothing new", "bare listing (boto3 paginator)"
REUSED_LISTING = "ours, nothing new, backfill run (listing reused)"
# The ledger as publish leaves it after a run that staged every file (include/sql/song_file_ledger_update.sql).
FILL_LEDGER_SQL = "INSERT INTO {ledger} (s3_key, etag, size, loaded_at) SELECT s3_key, etag, size, now() FROM {staged}"


def fingerprint(stack: PrivateStack, table: str) -> list:
    with stack.connect() as conn:
        return [str(v) for v in conn.execute(FINGERPRINT_SQL.format(table=table)).fetchone()]


def list_keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def run(
    stack: PrivateStack,
    dag_run: DagRun,
    songs: dict[str, bytes],
    peer_songs: int,
    repeat: int,
    progress: Callable[[str], None],
) -> dict:
    sampled = peer_songs < len(songs)
    progress(
        f"stage songs: {len(songs):,} single-song files"
        + (f"; the peer on the first {peer_songs:,}" if sampled else "")
    )
    task_id = dag_run.stage_task("staging_songs")
    ours, selection = dag_run.task(task_id), _selection(dag_run)
    table = ours.table  # this run's staging table: every contender loads it
    peer_prefix = PEER_PREFIX + SONG_PREFIX if sampled else SONG_PREFIX
    # Incremental staging (a ledger of staged files): emptied before each load, so every load
    # stages every file, as a first run or a full refresh does.
    emptied = [table, selection.ledger_table, ours.staged_files_table]
    client = stack.s3_client(connections=FLOOR_THREADS)
    keys = list_keys(client, SONG_PREFIX)
    if len(keys) != len(songs):
        raise RuntimeError(f"Expected {len(songs)} song files in s3://{BUCKET}/{SONG_PREFIX}, found {len(keys)}")
    fingerprints: dict[str, list] = {}

    def fresh_table() -> None:
        with stack.connect() as conn:
            conn.execute(f"TRUNCATE {', '.join(emptied)}")

    def remember(name: str) -> Callable[[], None]:
        return lambda: fingerprints.__setitem__(name, fingerprint(stack, table))

    def floor() -> None:
        def get(key: str) -> int:
            return len(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())

        with ThreadPoolExecutor(max_workers=FLOOR_THREADS) as pool:
            fetched = sum(pool.map(get, keys))
        if fetched != sum(map(len, songs.values())):
            raise RuntimeError("The floor's GETs returned fewer bytes than were uploaded")

    def loader(name: str, load: Callable[[], int]) -> Contender:
        return Contender(name, load, fresh_table, remember(name))

    contenders = [
        Contender(FLOOR, floor),
        loader(
            SEQUENTIAL, lambda: peers.sequential_stage_songs(BUCKET, peer_prefix, table, postgres_conn_id=PEER_CONN_ID)
        ),
    ]
    if sampled:
        on_sample = variables(song_prefix=peer_prefix)
        contenders.append(loader(OURS_ON_SAMPLE, lambda: _selected_and_staged(dag_run, task_id, on_sample)))
    copies: list[int] = []

    def ours_load() -> None:
        since = stack.statement_log_size()
        _selected_and_staged(dag_run, task_id)
        copies.append(len(stack.copies_logged(since)))

    # Ours runs last in each round, so that the staging table ends with our load of every file.
    contenders.append(loader(OURS, ours_load))
    times = race(contenders, repeat, progress)
    reference = OURS_ON_SAMPLE if sampled else OURS
    nothing_new = _nothing_new(stack, dag_run, ours, client, len(keys), repeat, progress)
    return {
        "task": task_id,
        "table": table,
        "files": len(keys),
        "bytes": sum(map(len, songs.values())),
        "peer_files": peer_songs if sampled else len(keys),
        "peers_reference": reference,
        "floor_threads": FLOOR_THREADS,
        "peers_connection": "PostgreSQL's socket (backend_dsn), not the emulator",
        "copies_per_load": copies,  # COPYs from S3 in the emulator's statement log, per load of ours
        "times": {name: m.as_dict() for name, m in times.items()},
        "nothing_new": {
            **{k: v for k, v in nothing_new.items() if k != "_measurements"},
            "times": {name: m.as_dict() for name, m in nothing_new["_measurements"].items()},
        },
        # The peer loads "" as "" where COPY's EMPTYASNULL loads NULL, so the fingerprint leaves
        # those columns out.
        "same_rows": {SEQUENTIAL: fingerprints[SEQUENTIAL] == fingerprints[reference]},
        "_measurements": {**times, **nothing_new["_measurements"]},
    }


def _nothing_new(
    stack: PrivateStack, dag_run: DagRun, ours, client, files: int, repeat: int, progress: Callable[[str], None]
) -> dict:
    """Our task when the ledger holds every file, against a bare listing of the same prefix."""
    progress(f"stage songs, nothing new: the ledger holds all {files:,} files")
    selection = _selection(dag_run)
    with stack.connect() as conn:
        conn.execute(f"TRUNCATE {selection.ledger_table}")
        conn.execute(FILL_LEDGER_SQL.format(ledger=selection.ledger_table, staged=ours.staged_files_table))
        recorded = conn.execute(f"SELECT COUNT(*) FROM {selection.ledger_table}").fetchone()[0]
    if recorded != files:
        raise RuntimeError(f"The ledger holds {recorded} files, not the {files} of the prefix")
    copies: list[int] = []
    rows: list[int] = []

    def load(run_type: str) -> Callable[[], None]:
        def run_task() -> None:
            since = stack.statement_log_size()
            rows.append(_selected_and_staged(dag_run, ours.task_id, run_type=run_type))
            copies.append(len(stack.copies_logged(since)))

        return run_task

    def bare_listing() -> None:
        if len(list_keys(client, SONG_PREFIX)) != files:
            raise RuntimeError("The bare listing found a different number of files")

    # In each round the scheduled run lists (and records its listing), then the backfill run reuses it.
    contenders = [Contender(BARE_LISTING, bare_listing), Contender(NOTHING_NEW, load("scheduled"))]
    if selection.listing_table:
        contenders.append(Contender(REUSED_LISTING, load("backfill")))
    times = race(contenders, repeat, progress)
    return {"files": files, "copies_per_load": copies, "rows_per_load": rows, "_measurements": times}


def _selection(dag_run: DagRun):
    """The DAG's select_song_files, rendered for the run."""
    [task_id] = dag_run.tasks_of_type("SelectNewObjectsOperator")
    return dag_run.task(task_id)


def _selected_and_staged(
    dag_run: DagRun, task_id: str, env: dict[str, str] | None = None, run_type: str = "scheduled"
) -> int:
    """What a run does to stage the songs: select_song_files (run while stage_songs is rendered, for the
    manifest it pulls), then stage_songs; with `env`, the Variables of `env` while they are rendered."""
    if env:
        os.environ.update(env)
    try:
        task = dag_run.render(task_id, run_type)
    finally:
        if env:
            os.environ.update(variables())
    return dag_run.execute(task)
