"""Stage events: our operator through the emulator, the loader called directly, the floor, the peers.

On the whole day file:
* ours: the DAG's stage_events task, as for a new day file (the warehouse's cached copies of
  staged files are dropped before each load). It lists the day file, writes a manifest and sends
  one `COPY ... MANIFEST` into the file's copy over redshift_connector to the emulator, whose
  process reads S3, parses and casts, and streams the rows to PostgreSQL; then it fills the run's
  table from the copy (`INSERT ... SELECT`, `ANALYZE`). The day's later runs do only that last step.
* the loader called directly: the emulator's loader (`run_local_copy`) in this process, on
  the COPY the operator sends for the same file (parsed by the emulator's own parser, without
  the manifest), through psycopg straight to the PostgreSQL behind the emulator, with the same
  `DELETE` first and one commit. The ratio ours ÷ this is what the emulator and the operator
  cost on top of the loading itself.
* the floor: the S3 GET of the file's bytes and a binary `COPY FROM STDIN` of the already-typed
  rows, each timed alone and added. The COPY goes straight to PostgreSQL (`backend_dsn`), not
  through the emulator: the floor is the least any loader must do, and the emulator's relay is
  part of what ours costs.
The peers race our load on the first `peer_events` events (the whole file unless the scale
caps them). They connect straight to PostgreSQL too: what they are compared on is the way they
load, not the emulator's relay of ordinary SQL, which adds a cost per message to their many
INSERTs (pandas' method='multi' on 100,000 events, one sample each on a busy machine: 199 s
through the emulator, 133-147 s straight).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg

from bench import peers
from bench.pipeline import DagRun, variables
from bench.stack import BUCKET, PrivateStack
from bench.timing import Contender, race, summed
from bench.workload import DAY_FILE

PREFIX = "events/"  # the Variable sparkify_log_prefix is PREFIX + "log_data/"
KEY = PREFIX + DAY_FILE
PEER_PREFIX = "events-sample/"  # the first peer_events events, when the peers are capped
PEER_KEY = PEER_PREFIX + DAY_FILE
PANDAS_MULTI_CHUNKSIZE = peers.PANDAS_MULTI_CHUNKSIZE
_EPOCH = datetime(1970, 1, 1)
_INTEGER_FIELDS = {"itemInSession", "sessionId", "status"}
FINGERPRINT_SQL = """
SELECT COUNT(*), COUNT(userid), COUNT(artist), COUNT(registration), SUM(sessionid::BIGINT),
       SUM(iteminsession::BIGINT), SUM(status::BIGINT), ROUND(SUM(length)::NUMERIC, 2),
       MIN(ts), MAX(ts), SUM(LENGTH(useragent)), SUM(LENGTH(location)), SUM(LENGTH(song))
FROM {table}
"""
# The contenders' names, as the JSON and the report use them.
OURS, FLOOR, FLOOR_GET, FLOOR_COPY = "ours", "floor", "floor: S3 GET", "floor: COPY typed rows"
DIRECT = "the loader called directly"
OURS_ON_SAMPLE = "ours, on the peers' input"
PANDAS_MULTI, PANDAS_DEFAULT, NAIVE = (
    "peer: pandas to_sql(method='multi')",
    "peer: pandas to_sql()",
    "peer: naive INSERT",
)


def typed_rows(data: bytes) -> list[tuple]:
    """The day file's rows as the table types them (what the floor's COPY sends)."""
    from local_stack.sample_data import EVENT_FIELDS

    rows = []
    for line in data.splitlines():
        event = orjson.loads(line)
        row = []
        for name in EVENT_FIELDS:
            value = event[name]
            if name == "ts":
                value = _EPOCH + timedelta(milliseconds=value)
            elif name == "userId":
                value = int(value) if value else None
            elif name in _INTEGER_FIELDS and value is not None:
                value = int(value)
            elif isinstance(value, str) and not value.strip():
                value = None  # BLANKSASNULL / EMPTYASNULL
            row.append(value)
        rows.append(tuple(row))
    return rows


def column_types(stack: PrivateStack, table: str, columns) -> list[str]:
    """The PostgreSQL types of `columns` of `table`, in that order."""
    with stack.connect() as conn:
        found = dict(
            conn.execute(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall()
        )
    return [found[name.lower()] for name in columns]


def fingerprint(stack: PrivateStack, table: str) -> list:
    with stack.connect() as conn:
        return [str(v) for v in conn.execute(FINGERPRINT_SQL.format(table=table)).fetchone()]


def run(
    stack: PrivateStack, dag_run: DagRun, data: bytes, peer_events: int, repeat: int, progress: Callable[[str], None]
) -> dict:
    """Race the ways of loading the day file `data` (uploaded at KEY, its sample at PEER_KEY)."""
    rows = typed_rows(data)
    sampled = peer_events < len(rows)
    progress(
        f"stage events: {len(rows):,} events, {len(data) / 2**20:,.1f} MiB"
        + (f"; peers on the first {peer_events:,}" if sampled else "")
    )
    task_id = dag_run.stage_task("staging_events")
    ours = dag_run.task(task_id)
    table = ours.table  # this run's staging table: every contender loads it
    peer_key, ours_on_sample = KEY, None
    if sampled:
        os.environ.update(variables(PEER_PREFIX + "log_data/"))
        ours_on_sample, peer_key = dag_run.render(task_id), PEER_KEY
        os.environ.update(variables(PREFIX + "log_data/"))
    columns = ", ".join(peers.EVENT_COLUMNS)
    s3 = stack.s3_client()
    sqlalchemy_url = _sqlalchemy_backend_url(stack)
    fingerprints: dict[str, list] = {}

    def fresh_table() -> None:
        with stack.connect() as conn:
            conn.execute(f"TRUNCATE {table}")
        stack.checkpoint()

    def fresh_table_and_cache() -> None:  # ours COPYs the file each time, as for a new day file
        stack.forget_staged_copies()
        fresh_table()

    def remember(name: str) -> Callable[[], None]:
        return lambda: fingerprints.__setitem__(name, fingerprint(stack, table))

    def floor_get() -> None:
        s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()

    types = column_types(stack, table, peers.EVENT_COLUMNS)

    def floor_copy() -> None:  # in binary, the cheapest form psycopg and PostgreSQL exchange
        with psycopg.connect(stack.backend_dsn) as conn, conn.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)

    direct_load = direct_loader(stack, dag_run, ours)
    copies: list[int] = []

    def ours_load() -> None:
        since = stack.statement_log_size()
        dag_run.execute(ours)
        copies.append(len(stack.copies_logged(since)))

    def peer(name: str, load: Callable[[], int]) -> Contender:
        return Contender(name, load, fresh_table, remember(name))

    contenders = [
        Contender(FLOOR_GET, floor_get),
        peer(FLOOR_COPY, floor_copy),
        peer(
            PANDAS_MULTI,
            lambda: peers.pandas_stage_events(
                stack.s3_client(),
                BUCKET,
                peer_key,
                sqlalchemy_url,
                table,
                method="multi",
                chunksize=PANDAS_MULTI_CHUNKSIZE,
            ),
        ),
        peer(
            PANDAS_DEFAULT,
            lambda: peers.pandas_stage_events(stack.s3_client(), BUCKET, peer_key, sqlalchemy_url, table),
        ),
        peer(NAIVE, lambda: peers.naive_stage_events(stack.s3_client(), BUCKET, peer_key, stack.backend_dsn, table)),
    ]

    def ours_cold(name: str, load: Callable[[], Any]) -> Contender:
        return Contender(name, load, fresh_table_and_cache, remember(name))

    if ours_on_sample is not None:
        contenders.append(ours_cold(OURS_ON_SAMPLE, lambda: dag_run.execute(ours_on_sample)))
    # The loader called directly runs just before ours; ours runs last in each round, so that the
    # staging table ends with our load of the whole file.
    contenders += [peer(DIRECT, direct_load), ours_cold(OURS, ours_load)]
    times = race(contenders, repeat, progress)
    times[FLOOR] = summed([times[FLOOR_GET], times[FLOOR_COPY]])
    reference = OURS_ON_SAMPLE if sampled else OURS
    peer_names = (PANDAS_MULTI, PANDAS_DEFAULT, NAIVE)
    return {
        "task": task_id,
        "table": table,
        "rows": len(rows),
        "bytes": len(data),
        "peer_rows": peer_events if sampled else len(rows),
        "peers_reference": reference,
        "pandas_multi_chunksize": PANDAS_MULTI_CHUNKSIZE,
        "copies_per_load": copies,  # COPYs from S3 in the emulator's statement log, per load of ours
        "direct_loader": {"process": "the benchmark's", "connection": "psycopg to backend_dsn (PostgreSQL's socket)"},
        "floor_copy_connection": "psycopg to backend_dsn (PostgreSQL's socket)",
        "peers_connection": "PostgreSQL's socket (backend_dsn), not the emulator",
        "times": {name: m.as_dict() for name, m in times.items()},
        "same_rows": {  # each load's table fingerprint equals that of our load of the same input
            **{name: fingerprints[name] == fingerprints[reference] for name in peer_names},
            FLOOR_COPY: fingerprints[FLOOR_COPY] == fingerprints[OURS],
            DIRECT: fingerprints[DIRECT] == fingerprints[OURS],
        },
        "_measurements": times,
    }


def direct_loader(stack: PrivateStack, dag_run: DagRun, task) -> Callable[[], int]:
    """The loader called directly on what `task` loads: a load as `run_local_copy` does it, in this process."""
    from local_stack.redshift.s3copy.loader import run_local_copy
    from local_stack.redshift.statements import parse_copy
    from sparkify.s3copy.spec import Credentials
    from sparkify.window import run_window

    spec = task.build_spec(run_window(dag_run.context).days())
    [key] = spec.keys  # the day file (the operator's manifest names just it)
    aws = stack.settings.aws_conn
    command = parse_copy(spec.copy_sql(key, Credentials(access_key=aws["login"], secret_key=aws["password"])))
    # A client as the emulator makes one for a COPY (created once, and reused by every COPY).
    s3 = stack.s3_client(connections=32)

    def load() -> int:
        rejects: list = []
        with psycopg.connect(stack.backend_dsn) as conn, conn.cursor() as cursor:  # commits on leaving
            cursor.execute(spec.clear_sql())
            rows = run_local_copy(command, cursor, s3, rejects)
        if rejects:
            raise RuntimeError(f"The loader called directly rejected {len(rejects)} row(s): {rejects[0]}")
        return rows

    return load


def _sqlalchemy_backend_url(stack: PrivateStack) -> str:
    """SQLAlchemy's URL for the PostgreSQL behind the emulator (its Unix socket)."""
    from urllib.parse import quote

    backend = psycopg.conninfo.conninfo_to_dict(stack.backend_dsn)
    return (
        f"postgresql+psycopg://{quote(backend['user'])}@/{quote(backend['dbname'])}"
        f"?host={quote(backend['host'])}&port={backend['port']}"
    )
