"""The Redshift emulator as clients see it: redshift_connector, psycopg and psql on the warehouse port."""

from __future__ import annotations

import gzip
import json
import subprocess

import psycopg
import pytest
import redshift_connector

from local_stack.warehouse_server import BIN, WarehouseServer
from tests.support import connect_redshift_connector, put_objects

pytestmark = pytest.mark.integration
BUCKET = "sparkify-emulator-tests"
KEYS = "ACCESS_KEY_ID 'emulator-test-key' SECRET_ACCESS_KEY 'emulator-test-secret-value'"


def connect(settings, password=None) -> redshift_connector.Connection:
    return connect_redshift_connector(settings, password=password)


@pytest.fixture
def rs(stack, db):
    db.execute("DROP TABLE IF EXISTS emu_songs")
    db.execute("CREATE TABLE emu_songs (song_id VARCHAR(8), year INTEGER, duration DOUBLE PRECISION)")
    conn = connect(stack)
    yield conn
    conn.close()


def songs(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def test_redshift_connector_copies_and_reads_back_the_count(rs, s3, db):
    put_objects(s3, BUCKET, {"count/a.json": songs({"song_id": "SOA", "year": 1999}, {"song_id": "SOB"})})
    cursor = rs.cursor()
    cursor.execute(f"COPY emu_songs FROM 's3://{BUCKET}/count/' {KEYS} FORMAT AS JSON 'auto'")
    cursor.execute("SELECT pg_last_copy_count(), pg_last_copy_id() > 0")
    assert cursor.fetchone() == [2, True]
    assert db.execute("SELECT count(*) FROM emu_songs").fetchone() == (0,)  # not committed yet
    rs.commit()
    assert db.execute("SELECT song_id, year FROM emu_songs ORDER BY 1").fetchall() == [("SOA", 1999), ("SOB", None)]


def test_the_same_prepared_copy_runs_twice_in_one_session(rs, s3):
    put_objects(s3, BUCKET, {"twice/a.json": songs({"song_id": "SOA"})})
    cursor = rs.cursor()
    for expected in (1, 2):
        cursor.execute(f"COPY emu_songs FROM 's3://{BUCKET}/twice/' {KEYS} JSON 'auto'")
        cursor.execute("SELECT count(*) FROM emu_songs")
        assert cursor.fetchone() == [expected]
    rs.rollback()


def test_a_failed_load_has_redshifts_message_aborts_the_transaction_and_keeps_its_rejects(rs, s3, db):
    put_objects(s3, BUCKET, {"bad/a.json": songs({"song_id": "SOA", "year": 1}, {"song_id": "SOB", "year": "MCMXC"})})
    cursor = rs.cursor()
    cursor.execute("INSERT INTO emu_songs (song_id) VALUES ('SOKEPT')")
    with pytest.raises(redshift_connector.ProgrammingError) as failure:
        cursor.execute(f"COPY emu_songs FROM 's3://{BUCKET}/bad/' {KEYS} FORMAT AS JSON 'auto'")
    fields = failure.value.args[0]
    assert fields["C"] == "XX000"
    assert fields["M"] == "Load into table 'emu_songs' failed.  Check 'stl_load_errors' system table for details."
    with pytest.raises(redshift_connector.ProgrammingError, match="25P02"):  # aborted, as on Redshift
        cursor.execute("SELECT 1")
    rs.rollback()
    cursor.execute(
        "SELECT TRIM(filename), line_number, TRIM(colname), TRIM(raw_field_value), err_code, TRIM(err_reason) "
        "FROM stl_load_errors WHERE query = pg_last_copy_id()"
    )
    assert list(cursor.fetchall()) == [
        [f"s3://{BUCKET}/bad/a.json", 2, "year", "MCMXC", 1207, "Invalid digit, Value 'M', Type: integer"]
    ]
    assert db.execute("SELECT count(*) FROM emu_songs").fetchone() == (0,)


def test_stl_load_errors_has_redshifts_columns(rs):
    cursor = rs.cursor()
    cursor.execute("SELECT * FROM stl_load_errors LIMIT 0")
    names = {d[0] for d in cursor.description}
    assert {
        "userid",
        "slice",
        "tbl",
        "starttime",
        "session",
        "query",
        "filename",
        "line_number",
        "colname",
        "type",
        "col_length",
        "position",
        "raw_line",
        "raw_field_value",
        "err_code",
        "err_reason",
    } <= names


def test_maxerror_loads_the_rest_and_says_so(rs, s3):
    put_objects(s3, BUCKET, {"maxerror/a.json": songs({"song_id": "SOA", "year": "x"}, {"song_id": "SOB"})})
    cursor = rs.cursor()
    cursor.execute(f"COPY emu_songs FROM 's3://{BUCKET}/maxerror/' {KEYS} FORMAT AS JSON 'auto' MAXERROR 1")
    cursor.execute(
        "SELECT pg_last_copy_count(), (SELECT count(*) FROM stl_load_errors WHERE query = pg_last_copy_id())"
    )
    assert cursor.fetchone() == [1, 1]
    rs.rollback()


def analyzed(db, table: str) -> bool:
    """Whether PostgreSQL holds planner statistics for `table`: ANALYZE ran on it (the tests load fewer rows
    than autovacuum's threshold of 50, so autovacuum does not)."""
    return db.execute("SELECT count(*) > 0 FROM pg_stats WHERE tablename = %s", (table,)).fetchone()[0]


@pytest.mark.parametrize(
    ("option", "empty_before", "expected"),
    [
        ("STATUPDATE ON", False, True),
        ("STATUPDATE OFF", True, False),
        ("", True, True),  # left out: analyzed when the table was empty before the load, as on Redshift
        ("", False, False),
    ],
)
def test_statupdate_analyzes_the_loaded_table_as_redshift_does(rs, s3, db, option, empty_before, expected):
    put_objects(s3, BUCKET, {"stats/a.json": songs(*({"song_id": f"SO{n}", "year": 1990 + n % 9} for n in range(20)))})
    cursor = rs.cursor()
    if not empty_before:
        cursor.execute("INSERT INTO emu_songs (song_id) VALUES ('SOKEPT')")
    assert not analyzed(db, "emu_songs")
    cursor.execute(f"COPY emu_songs FROM 's3://{BUCKET}/stats/' {KEYS} FORMAT AS JSON 'auto' {option}")
    rs.commit()
    assert analyzed(db, "emu_songs") is expected
    assert db.execute("SELECT count(*) FROM emu_songs").fetchone() == (20 + (0 if empty_before else 1),)


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "zstd"])
def test_compressed_objects(rs, s3, compression):
    import bz2

    import zstandard

    raw = songs({"song_id": "SOZ", "duration": 1.5})
    body = {"gzip": gzip.compress, "bzip2": bz2.compress, "zstd": zstandard.ZstdCompressor().compress}[compression](raw)
    put_objects(s3, BUCKET, {f"{compression}/a.json": body})
    cursor = rs.cursor()
    cursor.execute(f"COPY emu_songs FROM 's3://{BUCKET}/{compression}/' {KEYS} JSON 'auto' {compression.upper()}")
    cursor.execute("SELECT song_id, duration FROM emu_songs")
    assert list(cursor.fetchall()) == [["SOZ", 1.5]]
    rs.rollback()


def test_manifest_mandatory_and_optional_entries(rs, s3):
    put_objects(s3, BUCKET, {"m/a.json": songs({"song_id": "SOA"}), "m/a.json.bak": songs({"song_id": "SOBAK"})})
    entries = [
        {"url": f"s3://{BUCKET}/m/a.json", "mandatory": True},
        {"url": f"s3://{BUCKET}/m/gone.json", "mandatory": False},
    ]
    put_objects(s3, BUCKET, {"m.manifest": json.dumps({"entries": entries})})
    cursor = rs.cursor()
    cursor.execute(f"COPY emu_songs FROM 's3://{BUCKET}/m.manifest' {KEYS} JSON 'auto' MANIFEST")
    cursor.execute("SELECT song_id FROM emu_songs")
    assert list(cursor.fetchall()) == [["SOA"]]  # the exact key: never a.json.bak
    rs.rollback()
    entries[1]["mandatory"] = True
    put_objects(s3, BUCKET, {"m.manifest": json.dumps({"entries": entries})})
    with pytest.raises(redshift_connector.ProgrammingError, match="gone.json"):
        cursor.execute(f"COPY emu_songs FROM 's3://{BUCKET}/m.manifest' {KEYS} JSON 'auto' MANIFEST")
    rs.rollback()


def test_a_bucket_that_does_not_exist_is_a_clear_error(rs):
    with pytest.raises(redshift_connector.ProgrammingError, match="(?s)no-such-sparkify-bucket.*NoSuchBucket"):
        rs.cursor().execute(f"COPY emu_songs FROM 's3://no-such-sparkify-bucket/x/' {KEYS} JSON 'auto'")
    rs.rollback()


def test_a_wrong_password_is_refused_clearly(stack):
    with pytest.raises(
        redshift_connector.ProgrammingError, match='28P01.*password authentication failed for user "awsuser"'
    ):
        connect(stack, password="not-the-password")


def test_credentials_never_reach_the_statement_log_or_errors(rs, s3, stack):
    put_objects(s3, BUCKET, {"secret/a.json": songs({"song_id": "SOA", "year": "bad"})})
    with pytest.raises(redshift_connector.ProgrammingError) as failure:
        rs.cursor().execute(f"COPY emu_songs FROM 's3://{BUCKET}/secret/' {KEYS} JSON 'auto'")
    rs.rollback()
    log = WarehouseServer(stack).statement_log.read_text()
    assert f"s3://{BUCKET}/secret/" in log
    for text in (log, str(failure.value)):
        assert "emulator-test-secret-value" not in text and "emulator-test-key" not in text


def test_redshift_ddl_is_accepted(rs, db):
    cursor = rs.cursor()
    cursor.execute("DROP TABLE IF EXISTS emu_ddl")
    ddl = (
        "CREATE TABLE IF NOT EXISTS emu_ddl (id BIGINT IDENTITY(0, 1), name VARCHAR(MAX) ENCODE zstd DISTKEY, "
        "at TIMESTAMP SORTKEY) DISTSTYLE KEY"
    )
    cursor.execute(ddl)
    cursor.execute(ddl)  # idempotent
    cursor.execute("INSERT INTO emu_ddl (name, at) VALUES ('a', GETDATE())")
    rs.commit()
    assert db.execute("SELECT id, name FROM emu_ddl").fetchall() == [(0, "a")]


def test_psycopg_and_psql_work_through_the_emulator(stack, warehouse_dsn):
    with psycopg.connect(warehouse_dsn) as conn:
        assert conn.execute("SELECT %s::int + 1", (41,)).fetchone() == (42,)
        # Redshift has no COPY TO (test_redshift_server_side_copy.py): the emulator refuses it.
        with pytest.raises(psycopg.errors.FeatureNotSupported), conn.cursor().copy("COPY (SELECT 1) TO STDOUT"):
            pass
    s = stack
    result = subprocess.run(
        [
            str(BIN / "psql"),
            "-h",
            s.warehouse_host,
            "-p",
            str(s.warehouse_port),
            "-U",
            s.warehouse_user,
            "-d",
            s.warehouse_db,
            "-At",
            "-c",
            "SELECT 'psql ok'",
        ],
        capture_output=True,
        text=True,
        env={"PGPASSWORD": s.warehouse_password, "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert result.stdout.strip() == "psql ok", result.stderr


def test_a_copy_from_s3_inside_a_multi_statement_query_is_refused(warehouse_dsn, db):
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="statement of its own"):
            conn.execute(f"SELECT 1; COPY emu_songs FROM 's3://{BUCKET}/count/' {KEYS} JSON 'auto'", prepare=False)
        assert conn.execute("SELECT 2").fetchone() == (2,)  # the session goes on
