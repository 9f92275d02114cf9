"""The project's own SQL in the usual Sparkify starter's style, unmodified, over a sample bucket, as
Redshift runs it: the committed stand-in for test_starter_sql.py, whose starter files are not here.

starter_style/create_tables.sql and inserts.sql run in a database of their own, once through
psycopg2 (the simple protocol, as PostgresHook sends them) and once through redshift_connector (the
extended protocol, as RedshiftSQLHook sends them), one statement at a time (autocommit); the whole
create_tables.sql in one Query is a known gap (test_create_tables_in_one_query). Staging is COPY:
events with starter_style/log_jsonpaths.json, songs with JSON 'auto'. Each table is checked, count
and rows, against starter_expected.expected_style, computed from the sample files in Python. Two
buckets: the sample as generated, whose guest plays have no userId (so the songplays and users
inserts fail on NOT NULL), and the sample without those plays and with one play logged twice.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import psycopg2  # type: ignore[import-untyped]
import pytest
import redshift_connector
import sqlparse

from local_stack.s3_server import upload_folder
from local_stack.sample_data import generate
from local_stack.warehouse_server import WarehouseServer
from tests.fidelity.starter_expected import StyleExpected, expected_style, playid, time_row
from tests.integration.conftest import SAMPLE_SPEC
from tests.support import connect_redshift_connector

pytestmark = pytest.mark.integration
SQL_DIR = Path(__file__).resolve().parent / "starter_style"
KEYS = "ACCESS_KEY_ID 'fidelity-key' SECRET_ACCESS_KEY 'fidelity-secret-value'"
JSONPATHS_KEY = "starter_style/log_jsonpaths.json"
STAGING = ("staging_events", "staging_songs")
STAR = ("songplays", "users", "songs", "artists", "time")
SAMPLES = ("as_generated", "signed_in_plays")
DRIVERS = ("psycopg2", "redshift_connector")


class StatementError(Exception):
    """A statement the warehouse refused: its SQLSTATE and message."""

    def __init__(self, sqlstate: str | None, message: str) -> None:
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate, self.message = sqlstate, message


def inserts() -> dict[str, str]:
    """inserts.sql's statements by target table, in the file's order."""
    found: dict[str, str] = {}
    for statement in sqlparse.split((SQL_DIR / "inserts.sql").read_text(encoding="utf-8")):
        target = re.search(r'INSERT\s+INTO\s+public\."?(\w+)"?', statement, re.IGNORECASE)
        assert target is not None, f"not an insert: {statement[:80]}"
        found[target.group(1)] = statement
    return found


def staging(bucket: str) -> list[str]:
    return [
        f"COPY staging_events FROM 's3://{bucket}/log_data' {KEYS} REGION 'us-west-2' "
        f"FORMAT AS JSON 's3://{bucket}/{JSONPATHS_KEY}'",
        f"COPY staging_songs FROM 's3://{bucket}/song_data' {KEYS} REGION 'us-west-2' FORMAT AS JSON 'auto'",
    ]


def _signed_in_plays(root: Path) -> None:
    """Drop the plays without a userId (the guests'), keep every other event, and log the first
    play twice (a line delivered twice): the same playid and start_time twice."""
    for number, path in enumerate(sorted((root / "log_data").rglob("*.json"))):
        events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = [e for e in events if not (e["page"] == "NextSong" and not e["userId"])]
        if number == 0:
            first = next(i for i, e in enumerate(kept) if e["page"] == "NextSong")
            kept.insert(first, kept[first])
        path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept), encoding="utf-8")


class Sample(NamedTuple):
    name: str  # one of SAMPLES
    bucket: str
    root: Path  # the sample's files, as uploaded


@pytest.fixture(scope="module", params=SAMPLES)
def sample(request, stack, s3) -> Sample:
    root = stack.state_dir / f"fidelity-style-{request.param}"
    generate(root, SAMPLE_SPEC)
    if request.param == "signed_in_plays":
        _signed_in_plays(root)
    bucket = f"fidelity-style-{request.param.replace('_', '-')}"
    upload_folder(s3, bucket, root, "us-west-2")
    s3.put_object(Bucket=bucket, Key=JSONPATHS_KEY, Body=(SQL_DIR / "log_jsonpaths.json").read_bytes())
    return Sample(request.param, bucket, root)


@pytest.fixture(scope="module")
def redshift(sample: Sample) -> StyleExpected:
    return expected_style(sample.root)


@contextmanager
def _database(stack: Any, name: str) -> Iterator[str]:
    """A database of its own, dropped after."""
    admin = psycopg2.connect(WarehouseServer(stack).backend_dsn("postgres"))  # the client may not CREATE DATABASE
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name} OWNER {stack.warehouse_user}")
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


Run = Callable[[str], list[tuple[Any, ...]]]
Session = Iterator[tuple[Run, Callable[[str], None]]]


@contextmanager
def _psycopg2(stack: Any, database: str) -> Session:
    conn = psycopg2.connect(WarehouseServer(stack).dsn(database))
    conn.autocommit = True

    def run(sql: str) -> list[tuple[Any, ...]]:
        with conn.cursor() as cursor:
            try:
                cursor.execute(sql)
            except psycopg2.Error as error:
                primary = error.diag.message_primary if error.diag else None
                raise StatementError(error.pgcode, primary or str(error).strip()) from None
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []

    def create(script: str) -> None:  # one Query message a statement, as cursor.execute sends each
        for statement in sqlparse.split(script):
            run(statement)

    try:
        yield run, create
    finally:
        conn.close()


@contextmanager
def _redshift_connector(stack: Any, database: str) -> Session:
    conn = connect_redshift_connector(stack, database=database)
    conn.autocommit = True

    def run(sql: str) -> list[tuple[Any, ...]]:
        cursor = conn.cursor()
        try:
            cursor.execute(sql)
        except redshift_connector.Error as error:
            fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
            raise StatementError(fields.get("C"), fields.get("M") or str(error)) from None
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []

    def create(script: str) -> None:  # one statement at a time, as split_statements=True does
        for statement in sqlparse.split(script):
            run(statement)

    try:
        yield run, create
    finally:
        conn.close()


@pytest.fixture(scope="module", params=DRIVERS)
def style_run(request, sample: Sample, stack) -> dict[str, Any]:
    """create_tables.sql, the two COPYs and the five inserts, once per sample and driver: each
    table's rows and each insert's error, or the set-up step that failed."""
    connect = _psycopg2 if request.param == "psycopg2" else _redshift_connector
    with _database(stack, f"style_{request.param}_{sample.name}") as database:
        with connect(stack, database) as (run, create):
            return _load(run, create, sample.bucket)


def _load(run: Run, create: Callable[[str], None], bucket: str) -> dict[str, Any]:
    step = "create_tables.sql"
    try:
        create((SQL_DIR / step).read_text(encoding="utf-8"))
        for table, copy in zip(STAGING, staging(bucket), strict=True):
            step = f"COPY {table}"
            run(copy)
    except StatementError as error:
        return {"broken": f"{step} failed: {error}"}
    errors = {}
    for table, statement in inserts().items():
        try:
            run(statement)
        except StatementError as error:
            errors[table] = error
    keys = run(
        "SELECT table_name, constraint_name FROM information_schema.table_constraints "
        "WHERE table_schema = 'public' AND constraint_type = 'PRIMARY KEY' "
        f"AND table_name IN ({', '.join(repr(t) for t in (*STAGING, *STAR))})"
    )
    rows = {table: run(f'SELECT * FROM public."{table}"') for table in (*STAGING, *STAR)}
    return {"rows": rows, "errors": errors, "keys": sorted(keys)}


def _ran(style_run: dict[str, Any]) -> dict[str, Any]:
    if "broken" in style_run:
        pytest.fail(f"the starter-style SQL does not run unmodified: {style_run['broken']}")
    return style_run


def test_the_samples_hold_what_the_checks_need(sample: Sample, redshift: StyleExpected) -> None:
    """Guest plays make the generated sample fail on NOT NULL; without them every table fills,
    users with a user twice (a level change), songplays with a playid twice and time with a
    start_time twice (the play logged twice)."""
    if sample.name == "as_generated":
        assert redshift.failing == {"songplays": "userid", "users": "userid"}
        assert redshift.rows["songs"] > 0 and redshift.rows["artists"] > 0
    else:
        assert redshift.failing == {}
        assert min(redshift.rows.values()) > 0
        for table in ("users", "songplays", "time"):
            assert max(Counter(row[0] for row in redshift.tables[table]).values()) > 1, table
        assert any(row[4] is not None for row in redshift.tables["songplays"])  # the LEFT JOIN matches some


@pytest.mark.parametrize("table", STAGING)
def test_staging_counts(table: str, style_run, redshift: StyleExpected) -> None:
    ran = _ran(style_run)
    assert len(ran["rows"][table]) == redshift.rows[table]


@pytest.mark.parametrize("table", STAR)
def test_star_table_as_redshift_gives_it(table: str, style_run, redshift: StyleExpected) -> None:
    """Keys are declared, not enforced: users and time keep their duplicates; NOT NULL is enforced:
    an insert that puts a NULL there fails as a whole
    (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html)."""
    ran = _ran(style_run)
    error = ran["errors"].get(table)
    if table in redshift.failing:
        column = redshift.failing[table]
        assert error is not None, f"the {table} insert puts a NULL into {table}.{column}: Redshift refuses it"
        assert "null" in error.message.lower() and column in error.message.lower(), error
    else:
        assert error is None, f"the {table} insert failed: {error}"
    found = ran["rows"][table]
    assert len(found) == redshift.rows[table]
    assert Counter(found) == Counter(redshift.tables[table])


def test_declared_primary_keys_are_recorded(style_run) -> None:
    """The five PRIMARY KEY constraints are in the catalog although duplicates loaded
    (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html)."""
    ran = _ran(style_run)
    assert ran["keys"] == sorted((t, f"{t}_pkey") for t in STAR)


def test_playid_is_md5_of_session_and_start_time(style_run, redshift: StyleExpected) -> None:
    """`sessionid || start_time` converts both to text
    (https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html); a whole-second
    TIMESTAMP reads YYYY-MM-DD HH:MI:SS
    (https://docs.aws.amazon.com/redshift/latest/dg/r_Examples_with_datetime_types.html)."""
    found = _ran(style_run)["rows"]["songplays"]
    assert len(found) == redshift.rows["songplays"]
    ids: dict[tuple[int, datetime], set[str]] = {}
    for found_id, start_time, *_, sessionid, _location, _agent in found:
        assert re.fullmatch(r"[0-9a-f]{32}", found_id)
        assert found_id == playid(sessionid, start_time), (sessionid, start_time)
        ids.setdefault((sessionid, start_time), set()).add(found_id)
    assert all(len(one) == 1 for one in ids.values())  # one id per session and second,
    assert len(set().union(*ids.values())) == len(ids)  # and a different one for each


def test_time_parts_are_redshifts(style_run, redshift: StyleExpected) -> None:
    """EXTRACT(week) is the ISO 8601 week
    (https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_PART_function.html); dayofweek counts
    from Sunday = 0 (https://docs.aws.amazon.com/redshift/latest/dg/r_Dateparts_for_datetime_functions.html)."""
    found = _ran(style_run)["rows"]["time"]
    assert len(found) == redshift.rows["time"]
    for row in found:
        assert isinstance(row[0], datetime)
        assert row == time_row(row[0])
        assert row[6] == int(row[0].strftime("%w"))  # strftime's %w: Sunday = 0


def test_create_tables_in_one_query(stack) -> None:
    """PostgresHook.run(sql) sends a file as one Query (split_statements=False): Redshift runs each
    statement, and the keys they declare are not enforced
    (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html)."""
    with _database(stack, "style_one_query") as database, _psycopg2(stack, database) as (run, _):
        run((SQL_DIR / "create_tables.sql").read_text(encoding="utf-8"))
        run("INSERT INTO public.users (userid, level) VALUES (7, 'free'), (7, 'paid')")
        assert run("SELECT level FROM public.users ORDER BY level") == [("free",), ("paid",)]
