"""Redshift's system tables and views in the emulator: what a user reads after a load or while debugging one.

Each view has the columns of its Redshift page (cited in each test) and holds what the emulator knows.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timezone

import psycopg
import pytest

from local_stack.warehouse_server import WarehouseServer
from tests.support import put_objects

pytestmark = pytest.mark.integration
BUCKET = "sparkify-system-view-tests"
KEYS = "ACCESS_KEY_ID 'system-view-key' SECRET_ACCESS_KEY 'system-view-secret-value'"


def columns(db, view: str) -> list[str]:
    cursor = db.execute(f"SELECT * FROM {view} LIMIT 0")  # noqa: S608 (a fixed name)
    return [d.name for d in cursor.description]


def eventually(db, sql: str, params: tuple = (), count: int = 1, timeout: float = 15.0) -> list[tuple]:
    """The rows of `sql` once there are `count` of them: the query history is written in the background."""
    deadline = time.monotonic() + timeout
    while True:
        rows = db.execute(sql, params).fetchall()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@pytest.fixture
def backend(stack):
    """PostgreSQL itself, beside the emulator: an independent witness of oids and sizes."""
    with psycopg.connect(WarehouseServer(stack).backend_dsn(), autocommit=True) as conn:
        yield conn


@pytest.fixture
def songs(db):
    db.execute("DROP TABLE IF EXISTS sv_songs")
    db.execute("CREATE TABLE sv_songs (song_id VARCHAR(8), year INTEGER, duration DOUBLE PRECISION)")
    yield "sv_songs"
    db.execute("DROP TABLE IF EXISTS sv_songs")


def lines(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


# -- the columns of each page ---------------------------------------------------------------------
DOCUMENTED = {
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOADERROR_DETAIL.html
    "stl_loaderror_detail": "userid slice session query filename line_number field colname value is_null type "
    "col_length",
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html
    "sys_load_error_detail": "user_id query_id transaction_id session_id database_name table_id start_time "
    "file_name line_number column_name column_type column_length position error_code error_message",
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_HISTORY.html
    "sys_load_history": "user_id query_id transaction_id session_id database_name status table_name start_time "
    "end_time duration data_source file_format loaded_rows loaded_bytes source_file_count source_file_bytes "
    "file_count_scanned file_bytes_scanned error_count copy_job_id",
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_QUERY.html
    "stl_query": "userid query label xid pid database querytxt starttime endtime aborted insert_pristine "
    "concurrency_scaling_status",
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_HISTORY.html
    "sys_query_history": "user_id query_id query_label transaction_id session_id database_name query_type status "
    "result_cache_hit start_time end_time elapsed_time queue_time execution_time error_message returned_rows "
    "returned_bytes query_text redshift_version",
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html
    "svv_table_info": "database schema table_id table encoded diststyle sortkey1 max_varchar sortkey1_enc "
    "sortkey_num size pct_used empty unsorted stats_off tbl_rows skew_sortkey1 skew_rows estimated_visible_rows",
    # https://docs.aws.amazon.com/redshift/latest/dg/r_PG_TABLE_DEF.html
    "pg_table_def": "schemaname tablename column type encoding distkey sortkey notnull",
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html
    "stl_load_commits": "userid query slice name filename byte_offset lines_scanned errors curtime status "
    "file_format is_partial start_offset copy_job_id",
}


@pytest.mark.parametrize("view", sorted(DOCUMENTED))
def test_each_view_has_the_columns_of_its_redshift_page(db, view):
    names = columns(db, view)
    documented = DOCUMENTED[view].split()
    assert [n for n in names if n in documented] == documented  # all of them, in the page's order


# -- stl_query, sys_query_history ----------------------------------------------------------------
def test_stl_query_has_one_row_per_statement_in_order_with_the_session_user_and_database(db):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_QUERY.html
    marker = f"sv_marker_{time.time_ns()}"
    before = utcnow()
    pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
    for n in range(3):
        db.execute(f"SELECT {n} AS {marker}")
    after = utcnow()
    user, database = db.execute(
        "SELECT usesysid, current_database() FROM pg_user WHERE usename = current_user"
    ).fetchone()
    rows = eventually(
        db,
        "SELECT query, userid, pid, trim(database), trim(querytxt), starttime, trim(label) FROM stl_query "
        "WHERE querytxt LIKE %s ORDER BY query",
        (f"%AS {marker}%",),
        count=3,
    )
    assert [r[4] for r in rows] == [f"SELECT {n} AS {marker}" for n in range(3)]
    assert len({r[0] for r in rows}) == 3
    assert {r[1:4] for r in rows} == {(user, pid, database)}
    assert all(before <= r[5] <= after for r in rows)
    assert [r[5] for r in rows] == sorted(r[5] for r in rows)
    assert {r[6] for r in rows} == {"default"}  # no QUERY_GROUP set


def test_stl_query_masks_credentials(db):
    marker = f"sv_secret_{time.time_ns()}"
    with pytest.raises(psycopg.errors.SyntaxError):
        db.execute(f"SELECT 1 AS {marker} FROM x ACCESS_KEY_ID 'TESTACCESSKEY' SECRET_ACCESS_KEY 'wJalrSecretValue'")
    rows = eventually(db, "SELECT trim(querytxt) FROM stl_query WHERE querytxt LIKE %s", (f"%{marker}%",))
    assert len(rows) == 1
    assert "TESTACCESSKEY" not in rows[0][0] and "wJalrSecretValue" not in rows[0][0]
    assert "'***'" in rows[0][0]


def test_sys_query_history_shows_the_same_statements_with_their_type(db):
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_HISTORY.html (query_type SELECT, DDL, ...)
    marker = f"sv_hist_{time.time_ns()}"
    db.execute(f"CREATE TEMP TABLE {marker} (a INTEGER)")
    db.execute(f"INSERT INTO {marker} VALUES (1)")
    db.execute(f"SELECT a FROM {marker}")
    rows = eventually(
        db,
        "SELECT h.query_id, trim(h.query_type), trim(h.query_text), q.query FROM sys_query_history h "
        "JOIN stl_query q ON q.query = h.query_id WHERE h.query_text LIKE %s ORDER BY h.query_id",
        (f"% {marker}%",),
        count=3,
    )
    assert [r[1] for r in rows] == ["DDL", "INSERT", "SELECT"]


# -- sys_load_history, load errors ----------------------------------------------------------------
def test_a_copy_has_a_load_history_row_and_its_stl_query_row_carries_its_query_id(db, s3, songs):
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_HISTORY.html
    put_objects(s3, BUCKET, {"ok/a.json": lines({"song_id": "SOA", "year": 1999}, {"song_id": "SOB"})})
    db.execute(f"COPY {songs} FROM 's3://{BUCKET}/ok/' {KEYS} FORMAT AS JSON 'auto'")
    query, session = db.execute("SELECT pg_last_copy_id(), pg_backend_pid()").fetchone()
    row = db.execute(
        "SELECT status, table_name, loaded_rows, data_source, session_id, error_count, end_time >= start_time, "
        "duration >= 0, database_name FROM sys_load_history WHERE query_id = %s",
        (query,),
    ).fetchone()
    assert row == ("completed", songs, 2, f"s3://{BUCKET}/ok/", session, 0, True, True, "dev")
    text = eventually(db, "SELECT trim(querytxt) FROM stl_query WHERE query = %s", (query,))
    assert text and text[0][0].startswith("COPY") and "system-view-secret-value" not in text[0][0]


def test_a_copy_rolled_back_with_its_transaction_still_shows_as_completed(stack, s3, songs, warehouse_dsn):
    # SYS_LOAD_HISTORY shows the COPY's own status (running, completed, aborted), not its transaction's.
    put_objects(s3, BUCKET, {"rollback/a.json": lines({"song_id": "SOA"})})
    with psycopg.connect(warehouse_dsn) as conn:
        conn.execute(f"COPY {songs} FROM 's3://{BUCKET}/rollback/' {KEYS} JSON 'auto'")
        query = conn.execute("SELECT pg_last_copy_id()").fetchone()[0]
        conn.rollback()
        assert conn.execute(f"SELECT count(*) FROM {songs}").fetchone() == (0,)
        row = conn.execute("SELECT status, loaded_rows FROM sys_load_history WHERE query_id = %s", (query,)).fetchone()
    assert row == ("completed", 1)


def test_a_failed_copy_is_aborted_and_its_rejects_are_in_both_detail_views(s3, songs, warehouse_dsn, backend):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOADERROR_DETAIL.html
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html
    put_objects(s3, BUCKET, {"bad/a.json": lines({"song_id": "SOA", "year": 1}, {"song_id": "SOB", "year": "MCMXC"})})
    with psycopg.connect(warehouse_dsn) as conn:
        with pytest.raises(psycopg.errors.InternalError):
            conn.execute(f"COPY {songs} FROM 's3://{BUCKET}/bad/' {KEYS} FORMAT AS JSON 'auto'")
        conn.rollback()
        query = conn.execute("SELECT pg_last_copy_id()").fetchone()[0]
        history = conn.execute(
            "SELECT status, loaded_rows, error_count FROM sys_load_history WHERE query_id = %s", (query,)
        ).fetchone()
        errors = conn.execute(
            "SELECT tbl, trim(filename), line_number, trim(colname), trim(raw_field_value), err_code, trim(err_reason) "
            "FROM stl_load_errors WHERE query = %s",
            (query,),
        ).fetchall()
        sys_detail = conn.execute(
            "SELECT table_id, trim(file_name), line_number, trim(column_name), error_code, trim(error_message) "
            "FROM sys_load_error_detail WHERE query_id = %s",
            (query,),
        ).fetchall()
        stl_detail = conn.execute(
            "SELECT trim(filename), line_number, field, trim(colname), trim(value), is_null "
            "FROM stl_loaderror_detail WHERE query = %s",
            (query,),
        ).fetchall()
    table_id = backend.execute("SELECT %s::regclass::oid::integer", (songs,)).fetchone()[0]
    assert history == ("aborted", 0, 1)
    assert len(errors) == 1
    tbl, filename, line, colname, raw, code, reason = errors[0]
    assert tbl == table_id and colname == "year" and raw == "MCMXC"
    assert sys_detail == [(tbl, filename, line, colname, code, reason)]
    # year is the table's second column: the field that failed; its value as read.
    assert stl_detail == [(filename, line, 2, "year", "MCMXC", 0)]


def test_stl_load_commits_has_one_row_per_file_read_with_its_lines_scanned(db, s3, songs):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html: one row per data file loaded;
    # lines_scanned counts the lines read, rejected records included (MAXERROR), so it may differ from the
    # rows loaded. https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_HISTORY.html: the files and their bytes.
    files = {
        "commits/a.json": lines({"song_id": "SOA", "year": 1999}, {"song_id": "SOB"}, {"song_id": "SOC", "year": 1}),
        "commits/b.json": lines({"song_id": "SOD", "year": "MCMXC"}, {"song_id": "SOE", "year": 2004}),
    }
    put_objects(s3, BUCKET, files)
    before = utcnow()
    db.execute(f"COPY {songs} FROM 's3://{BUCKET}/commits/' {KEYS} FORMAT AS JSON 'auto' MAXERROR 1")
    query, user = db.execute(
        "SELECT pg_last_copy_id(), (SELECT usesysid FROM pg_user WHERE usename = current_user)"
    ).fetchone()
    rows = db.execute(
        "SELECT userid, trim(filename), lines_scanned, trim(file_format), is_partial, start_offset, curtime "
        "FROM stl_load_commits WHERE query = %s ORDER BY filename",
        (query,),
    ).fetchall()
    assert [r[:6] for r in rows] == [
        (user, f"s3://{BUCKET}/{key}", text.count("\n"), "JSON", 0, 0) for key, text in sorted(files.items())
    ]
    assert all(before <= r[6] <= utcnow() for r in rows)
    history = db.execute(
        "SELECT loaded_rows, source_file_count, source_file_bytes, file_count_scanned FROM sys_load_history "
        "WHERE query_id = %s",
        (query,),
    ).fetchone()
    assert history == (4, 2, sum(len(t.encode()) for t in files.values()), 2)


def test_sys_load_error_detail_names_the_column_type_as_redshift_does(s3, songs, warehouse_dsn):
    # https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html: the example's INTEGER column
    # shows column_type int4. The table is created in the COPY's own uncommitted transaction.
    put_objects(s3, BUCKET, {"types/a.json": lines({"n": "x"})})
    with psycopg.connect(warehouse_dsn) as conn:
        conn.execute("CREATE TABLE sv_types (n INTEGER)")
        with pytest.raises(psycopg.errors.InternalError):
            conn.execute(f"COPY sv_types FROM 's3://{BUCKET}/types/' {KEYS} FORMAT AS JSON 'auto'")
        conn.rollback()
        query = conn.execute("SELECT pg_last_copy_id()").fetchone()[0]
        rows = conn.execute(
            "SELECT trim(column_name), trim(column_type) FROM sys_load_error_detail WHERE query_id = %s", (query,)
        ).fetchall()
    assert rows == [("n", "int4")]


# -- pg_table_def, svv_table_info -----------------------------------------------------------------
@pytest.fixture
def designed(db):
    db.execute("DROP SCHEMA IF EXISTS sv_design CASCADE")
    db.execute("CREATE SCHEMA sv_design")
    db.execute(
        "CREATE TABLE sv_design.plays (play_id INTEGER NOT NULL, level VARCHAR(256), start_time TIMESTAMP NOT NULL, "
        "length DOUBLE PRECISION, user_id BIGINT DISTKEY, note VARCHAR(20)) DISTSTYLE KEY COMPOUND SORTKEY "
        "(start_time, user_id)"
    )
    db.execute("CREATE TABLE sv_design.empty (a INTEGER)")
    yield "sv_design"
    db.execute("DROP SCHEMA IF EXISTS sv_design CASCADE")


def test_pg_table_def_lists_columns_with_redshifts_type_names_and_sort_key_positions(db, designed):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_PG_TABLE_DEF.html: only schemas on the search_path;
    # sortkey is the column's position in a compound sort key, 0 when it is not part of it.
    query = (
        'SELECT "column", type, sortkey, "notnull" FROM pg_table_def '
        "WHERE schemaname = 'sv_design' AND tablename = 'plays'"
    )
    assert db.execute(query).fetchall() == []  # sv_design is not on the search_path
    db.execute("SET search_path TO '$user', public, sv_design")
    try:
        rows = db.execute(query).fetchall()
    finally:
        db.execute("RESET search_path")
    assert rows == [
        ("play_id", "integer", 0, True),
        ("level", "character varying(256)", 0, False),
        ("start_time", "timestamp without time zone", 1, True),
        ("length", "double precision", 0, False),
        ("user_id", "bigint", 2, False),
        ("note", "character varying(20)", 0, False),
    ]


def test_svv_table_info_counts_rows_and_sizes_tables_in_one_megabyte_blocks(db, designed, backend):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html: no row for an empty table;
    # size in 1 MB blocks; tbl_rows the rows in the table.
    values = ", ".join(f"({n}, 'free', TIMESTAMP '2018-11-01' + INTERVAL '{n} minutes', {n % 7})" for n in range(5000))
    db.execute(f"INSERT INTO sv_design.plays (play_id, level, start_time, user_id) VALUES {values}")
    db.execute("DELETE FROM sv_design.plays WHERE play_id >= 4000")
    size_bytes = backend.execute("SELECT pg_total_relation_size('sv_design.plays')").fetchone()[0]
    rows = db.execute(
        'SELECT "table", tbl_rows, size, sortkey1, sortkey_num, max_varchar, database, table_id '
        "FROM svv_table_info WHERE schema = 'sv_design'"
    ).fetchall()
    table_id = backend.execute("SELECT 'sv_design.plays'::regclass::oid").fetchone()[0]
    assert rows == [("plays", 4000, math.ceil(size_bytes / 1048576), "start_time", 2, 256, "dev", table_id)]


def test_the_emulators_own_tables_are_not_user_tables(db):
    names = {r[0] for r in db.execute("SELECT tablename FROM pg_table_def WHERE schemaname = 'public'").fetchall()}
    names |= {r[0] for r in db.execute("SELECT \"table\" FROM svv_table_info WHERE schema = 'public'").fetchall()}
    assert not {n for n in names if n.startswith(("stl_", "stv_", "sys_"))}


# -- the history's writer, in this process ---------------------------------------------------------
@pytest.fixture
def history_config(stack):
    """An emulator configuration for this stack's PostgreSQL: the history module run in the test's process."""
    from local_stack.redshift.server import EmulatorConfig
    from local_stack.warehouse_server import ADMIN_ROLE, BACKEND_PORT

    warehouse = WarehouseServer(stack)
    return EmulatorConfig(
        user=stack.warehouse_user,
        password=stack.warehouse_password,
        backend_socket_dir=warehouse.socket_dir,
        backend_port=BACKEND_PORT,
        backend_user=ADMIN_ROLE,
    )


def test_flush_writes_what_was_recorded_in_order_redacted_and_a_copy_under_its_own_id(history_config, backend):
    from local_stack.redshift import query_history

    marker = f"sv_flush_{time.time_ns()}"
    database = backend.execute("SELECT current_database()").fetchone()[0]
    copy_id = backend.execute("SELECT nextval('stl_query_id_seq')").fetchone()[0]  # as the COPY runner takes it
    query_history.record(history_config, database, 4242, None, f"SELECT 1 AS {marker}")
    query_history.stash_copy(
        history_config,
        database,
        4242,
        f"COPY t FROM 's3://b/{marker}' ACCESS_KEY_ID 'TESTFLUSHKEY' SECRET_ACCESS_KEY 'x1'",
    )
    query_history.record_copy(history_config, database, 4242, None, copy_id, "unused")
    query_history.record(history_config, database, 4242, None, f"SELECT 2 AS {marker}")
    assert query_history.mentions_history("select * from STL_QUERY") and not query_history.mentions_history("select 1")
    query_history.flush(history_config)  # synchronous: no waiting below
    rows = backend.execute(
        "SELECT query, pid, trim(querytxt) FROM stl_query WHERE querytxt LIKE %s ORDER BY starttime",
        (f"%{marker}%",),
    ).fetchall()
    assert [r[2] for r in rows] == [
        f"SELECT 1 AS {marker}",
        f"COPY t FROM 's3://b/{marker}' ACCESS_KEY_ID '***' SECRET_ACCESS_KEY '***'",
        f"SELECT 2 AS {marker}",
    ]
    assert rows[1][0] == copy_id and rows[0][0] < rows[2][0] and {r[1] for r in rows} == {4242}


def test_the_history_keeps_only_the_newest_rows(history_config, backend, monkeypatch):
    """Statements go through PostgreSQL directly here, so that none of the emulator's rows comes between."""
    from local_stack.redshift import query_history

    monkeypatch.setattr(query_history, "KEEP_ROWS", 5)
    time.sleep(3 * query_history.FLUSH_SECONDS)  # the emulator has written the earlier tests' statements
    database = backend.execute("SELECT current_database()").fetchone()[0]
    for n in range(8):
        query_history.record(history_config, database, 4243, None, f"SELECT {n} AS kept")
    query_history.flush(history_config)
    rows = backend.execute(
        "SELECT trim(querytxt) FROM stl_query WHERE rtrim(querytxt) LIKE '% AS kept' ORDER BY query"
    ).fetchall()
    assert [r[0] for r in rows] == [f"SELECT {n} AS kept" for n in range(3, 8)]


def test_the_catalog_can_be_created_again_in_a_database_that_has_it(backend):
    """The emulator runs the catalog's SQL at every start, over databases that already hold it."""
    from local_stack.redshift.catalog import CATALOG_SQL

    backend.execute(CATALOG_SQL)
    backend.execute(CATALOG_SQL)
    assert backend.execute("SELECT count(*) FROM pg_views WHERE viewname = 'svv_table_info'").fetchone() == (1,)


def test_pg_table_def_shows_the_distribution_key_and_an_interleaved_sort_key(db):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_PG_TABLE_DEF.html: distkey is true for the distribution
    # key; an interleaved sort key's positions are alternately negative and positive (the page's
    # LINEORDER_INTERLEAVED: -1, 2, -3, 4, -5), a compound one's positive.
    db.execute("DROP TABLE IF EXISTS sv_interleaved, sv_compound")
    db.execute(
        "CREATE TABLE sv_interleaved (lo_orderkey INTEGER NOT NULL, lo_custkey INTEGER NOT NULL, "
        "lo_partkey INTEGER NOT NULL DISTKEY, lo_suppkey INTEGER NOT NULL, lo_orderdate INTEGER NOT NULL, "
        "lo_comment VARCHAR(79)) INTERLEAVED SORTKEY (lo_orderkey, lo_custkey, lo_partkey, lo_suppkey, lo_orderdate)"
    )
    db.execute("CREATE TABLE sv_compound (a INTEGER, b INTEGER) DISTKEY (b) COMPOUND SORTKEY (a, b)")
    try:
        interleaved = db.execute(
            'SELECT "column", distkey, sortkey FROM pg_table_def WHERE tablename = %s ORDER BY abs(sortkey)',
            ("sv_interleaved",),
        ).fetchall()
        compound = db.execute(
            'SELECT "column", distkey, sortkey FROM pg_table_def WHERE tablename = %s ORDER BY "column"',
            ("sv_compound",),
        ).fetchall()
    finally:
        db.execute("DROP TABLE IF EXISTS sv_interleaved, sv_compound")
    assert interleaved == [
        ("lo_comment", False, 0),
        ("lo_orderkey", False, -1),
        ("lo_custkey", False, 2),
        ("lo_partkey", True, -3),
        ("lo_suppkey", False, 4),
        ("lo_orderdate", False, -5),
    ]
    assert compound == [("a", False, 1), ("b", True, 2)]


def test_svv_table_info_shows_the_declared_distribution_style(db):
    # https://docs.aws.amazon.com/redshift/latest/dg/viewing-distribution-styles.html: the page's four tables
    # show KEY(col1), EVEN, ALL and AUTO(ALL) (a table without DISTSTYLE is AUTO, small tables start as ALL).
    # https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html: ALTER DISTSTYLE / ALTER DISTKEY change it.
    tables = {
        "sv_dist_key": "DISTSTYLE KEY DISTKEY (col1)",
        "sv_dist_even": "DISTSTYLE EVEN",
        "sv_dist_all": "DISTSTYLE ALL",
        "sv_dist_auto": "",
        "sv_dist_altered": "DISTSTYLE EVEN",
    }
    for name, attributes in tables.items():
        db.execute(f"DROP TABLE IF EXISTS {name}")
        db.execute(f"CREATE TABLE {name} (col1 INTEGER, col2 INTEGER) {attributes}")
        db.execute(f"INSERT INTO {name} VALUES (1, 2)")
    db.execute("ALTER TABLE sv_dist_altered ALTER DISTKEY col2")
    try:
        rows = dict(
            db.execute('SELECT "table", diststyle FROM svv_table_info WHERE "table" LIKE \'sv\\_dist\\_%\'').fetchall()
        )
        db.execute("ALTER TABLE sv_dist_altered ALTER DISTSTYLE ALL")
        altered = db.execute("SELECT diststyle FROM svv_table_info WHERE \"table\" = 'sv_dist_altered'").fetchone()
    finally:
        for name in tables:
            db.execute(f"DROP TABLE IF EXISTS {name}")
    assert rows == {
        "sv_dist_key": "KEY(col1)",
        "sv_dist_even": "EVEN",
        "sv_dist_all": "ALL",
        "sv_dist_auto": "AUTO(ALL)",
        "sv_dist_altered": "KEY(col2)",
    }
    assert altered == ("ALL",)


def test_the_emulators_own_schema_holds_no_user_tables(db):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html shows only user-defined tables: the
    # records the emulator keeps of constraints and distribution are not among them, even when they hold rows.
    db.execute("DROP TABLE IF EXISTS sv_keyed")
    db.execute("CREATE TABLE sv_keyed (id INTEGER PRIMARY KEY) DISTSTYLE EVEN")
    db.execute("INSERT INTO sv_keyed VALUES (1)")
    try:
        schemas = {r[0] for r in db.execute("SELECT schema FROM svv_table_info").fetchall()}
    finally:
        db.execute("DROP TABLE IF EXISTS sv_keyed")
    assert "public" in schemas and "redshift_emulator" not in schemas


def test_an_upgraded_catalog_replaces_views_whose_columns_changed(backend):
    """CREATE OR REPLACE VIEW cannot change a column's type: a warehouse made by an older emulator gets the views
    dropped and created anew when the catalog's text differs (its digest), and the same catalog twice drops
    nothing."""
    from local_stack.redshift import catalog

    backend.execute("DROP VIEW IF EXISTS sys_load_error_detail")
    backend.execute("CREATE VIEW sys_load_error_detail AS SELECT 1::integer AS column_type")  # an older shape
    backend.execute("UPDATE redshift_emulator.catalog_digest SET digest = 'an older catalog'")
    catalog._bootstrapped.discard("dev")  # this test process has not set the catalog up yet
    catalog.ensure_catalog(backend, "dev")
    type_of = "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s"
    assert backend.execute(type_of, ("sys_load_error_detail", "column_type")).fetchone() != ("integer",)
    assert backend.execute("SELECT digest FROM redshift_emulator.catalog_digest").fetchone() == (
        catalog.CATALOG_DIGEST,
    )
