"""The official Udacity starter's SQL, unmodified, over a sample bucket, as Redshift runs it.

create_tables.sql and the SqlQueries inserts run in a database of their own, through psycopg2 (the
simple protocol, as the starter's PostgresHook sends them), each statement on its own
(autocommit); staging is the COPY the starter's StageToRedshiftOperator is written to send (events
with log_json_path.json, songs with JSON 'auto'). Every outcome is checked against
starter_expected.py, computed from the sample files in Python. Two buckets: the sample as
`local_stack.sample_data` makes it, whose guest plays have no userId (so on Redshift the songplays
and users inserts fail on NOT NULL), and the same sample without those plays, where the fact and
the four dimensions fill, users and time with the duplicates that the starter's SQL creates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg2  # type: ignore[import-untyped]
import pytest

from local_stack.s3_server import upload_folder
from local_stack.sample_data import generate
from local_stack.warehouse_server import WarehouseServer
from tests.fidelity.starter_expected import Expected, expected
from tests.fidelity.starter_source import REPOSITORY, find_starter, load_starter
from tests.integration.conftest import SAMPLE_SPEC

pytestmark = pytest.mark.integration
KEYS = "ACCESS_KEY_ID 'fidelity-key' SECRET_ACCESS_KEY 'fidelity-secret-value'"
NOT_YET = (
    "the starter's SQL does not run unmodified on the emulator yet (issue 27: the Redshift dialect "
    "translator, unenforced keys, COPY): {step} failed: {error}"
)
TABLES = ("staging_events", "staging_songs", "songplays", "users", "songs", "artists", "time")
SAMPLES = ("as_generated", "signed_in_plays_only")


def staging(bucket: str) -> dict[str, str]:
    return {
        "staging_events": f"COPY staging_events FROM 's3://{bucket}/log_data' {KEYS} REGION 'us-west-2' "
        f"FORMAT AS JSON 's3://{bucket}/log_json_path.json'",
        "staging_songs": f"COPY staging_songs FROM 's3://{bucket}/song_data' {KEYS} REGION 'us-west-2' "
        "FORMAT AS JSON 'auto'",
    }


@pytest.fixture(scope="module")
def starter():
    folder = find_starter()
    if folder is None:
        pytest.skip(
            "the starter's create_tables.sql and sql_queries.py are not here: put them in tests/fidelity/starter/ "
            f"(see its README.md) or set SPARKIFY_STARTER_DIR to a checkout of {REPOSITORY}"
        )
    return load_starter(folder)


def _drop_guest_plays(root: Path) -> None:
    """Keep every event but the plays without a userId (the guests')."""
    for path in (root / "log_data").rglob("*.json"):
        events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = [e for e in events if not (e["page"] == "NextSong" and not e["userId"])]
        path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept), encoding="utf-8")


@pytest.fixture(scope="module", params=SAMPLES)
def sample(request, stack, s3) -> tuple[str, Path]:
    root = stack.state_dir / f"fidelity-starter-{request.param}"
    generate(root, SAMPLE_SPEC)
    if request.param == "signed_in_plays_only":
        _drop_guest_plays(root)
    bucket = f"fidelity-starter-{request.param.replace('_', '-')}"
    upload_folder(s3, bucket, root, "us-west-2")
    return bucket, root


@pytest.fixture(scope="module")
def starter_run(starter, sample, stack) -> dict[str, Any]:
    """Run it all once per sample: the rows of each table and the errors of the inserts, or the step
    (create_tables.sql, a COPY) that failed."""
    bucket, _ = sample
    database = f"starter_{bucket.split('-')[-1]}"
    admin = psycopg2.connect(WarehouseServer(stack).backend_dsn("postgres"))  # the client may not CREATE DATABASE
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {database}")
        cursor.execute(f"CREATE DATABASE {database} OWNER {stack.warehouse_user}")
    conn = psycopg2.connect(WarehouseServer(stack).dsn(database))
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            for step, sql in [("create_tables.sql", starter.create_tables), *staging(bucket).items()]:
                try:
                    cursor.execute(sql)
                except psycopg2.Error as error:
                    return {"broken": NOT_YET.format(step=step, error=" ".join(str(error).split()))}
            errors = {}
            for table, select in starter.inserts.items():  # as the starter's Load*Operator sends them
                try:
                    cursor.execute(f'INSERT INTO public."{table}" {select}')
                except psycopg2.Error as error:
                    errors[table] = (error.pgcode, " ".join(str(error).split()))
            rows = {}
            for table in TABLES:
                cursor.execute(f'SELECT COUNT(*) FROM public."{table}"')
                rows[table] = cursor.fetchone()[0]
            return {"rows": rows, "errors": errors}
    finally:
        conn.close()
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()


@pytest.fixture(scope="module")
def redshift(sample) -> Expected:
    return expected(sample[1])


def test_the_samples_hold_what_the_checks_need(sample, redshift: Expected) -> None:
    """Guest plays make the generated sample fail on NOT NULL; without them the fact fills, and the
    dimensions have duplicates (a user who changed level; a song played twice in a second)."""
    name = sample[0]
    if name.endswith("as-generated"):
        assert redshift.failing == {"songplays": "userid", "users": "userid"}
    else:
        assert redshift.failing == {}
        assert redshift.rows["songplays"] > 0 and redshift.rows["time"] == redshift.rows["songplays"]
        assert min(redshift.rows[t] for t in ("users", "songs", "artists")) > 0


@pytest.mark.parametrize("table", TABLES)
def test_starter_sql_gives_what_redshift_gives(table: str, starter_run, redshift: Expected) -> None:
    if "broken" in starter_run:
        pytest.fail(starter_run["broken"])
    error = starter_run["errors"].get(table)
    if table in redshift.failing:
        column = redshift.failing[table]
        assert error is not None, f"the {table} insert puts a NULL into {table}.{column}: Redshift refuses it"
        if not ("null" in error[1].lower() and column in error[1].lower()):
            found = f"{error[0]}: {error[1]} (Redshift: a NOT NULL error)"
            pytest.fail(NOT_YET.format(step=f"the {table} insert", error=found))
    elif error is not None:
        pytest.fail(NOT_YET.format(step=f"the {table} insert", error=f"{error[0]}: {error[1]}"))
    assert starter_run["rows"][table] == redshift.rows[table], (
        f"{table}: the emulator has {starter_run['rows'][table]} rows, Redshift would have {redshift.rows[table]}"
    )
