"""Redshift's temporary tables through the emulator: CREATE TEMP TABLE and #name, with COPY, INSERT,
DELETE ... USING and SELECT in the client's session, through redshift_connector (the extended query
protocol) and psycopg (the simple query protocol, for statements without parameters).

https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html (TEMPORARY | TEMP, and a table
name that begins with #): a temporary table is visible only in its session, is dropped at the end of
the session, may have the name of a permanent table, and takes precedence over it unless the name is
qualified with the permanent table's schema.

Expected rows are computed here from the files put in S3, independently of the loader.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redshift_connector

from tests.support import connect_redshift_connector, put_objects

pytestmark = pytest.mark.integration
BUCKET = "sparkify-temp-table-tests"
KEYS = "ACCESS_KEY_ID 'temp-table-key' SECRET_ACCESS_KEY 'temp-table-secret'"
CREATE_TABLE = "https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html"
COLUMNS = "song_id VARCHAR(18), title VARCHAR(64), year INTEGER"
# Two files of the same songs table: the second repeats one song of the first with another year.
FILES: dict[str, list[dict[str, Any]]] = {
    "songs/a.json": [
        {"song_id": "SOA", "title": "Intro", "year": 1999},
        {"song_id": "SOB", "title": "Outro", "year": 2004},
    ],
    "songs/b.json": [
        {"song_id": "SOC", "title": "Interlude", "year": 0},
        {"song_id": "SOB", "title": "Outro (remaster)", "year": 2018},
        {"song_id": "SOD", "title": "Coda"},
    ],
}


def file_rows(prefix: str = "songs/") -> list[tuple]:
    """The rows a COPY ... JSON 'auto' of `prefix` loads, from the files themselves: a missing field is NULL."""
    return [
        (r["song_id"], r["title"], r.get("year")) for key in sorted(FILES) if key.startswith(prefix) for r in FILES[key]
    ]


class Session:
    """One client session of either driver; `run` returns the rows of a statement that has some, else []."""

    def __init__(self, conn: redshift_connector.Connection | psycopg.Connection) -> None:
        self.conn = conn

    def run(self, sql: str) -> list[tuple]:
        cursor = self.conn.cursor()
        cursor.execute(sql)
        rows = cursor.fetchall() if cursor.description else []
        return [tuple(r) for r in rows or []]

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def open_session(settings, driver: str) -> Session:
    if driver == "redshift_connector":
        return Session(connect_redshift_connector(settings))
    return Session(
        psycopg.connect(
            host=settings.warehouse_host,
            port=settings.warehouse_port,
            dbname=settings.warehouse_db,
            user=settings.warehouse_user,
            password=settings.warehouse_password,
        )
    )


@pytest.fixture(scope="module")
def files(s3) -> None:
    put_objects(s3, BUCKET, {key: "".join(json.dumps(r) + "\n" for r in records) for key, records in FILES.items()})


@pytest.fixture(params=["redshift_connector", "psycopg"])
def session(request, stack, files) -> Iterator[Session]:
    opened = open_session(stack, request.param)
    yield opened
    opened.close()


@pytest.fixture
def permanent(db) -> Iterator[str]:
    """A committed permanent table `tt_songs` in public with one row of its own."""
    db.execute("DROP TABLE IF EXISTS public.tt_songs")
    db.execute(f"CREATE TABLE public.tt_songs ({COLUMNS})")
    db.execute("INSERT INTO public.tt_songs VALUES ('SOP', 'Permanent', 1970)")
    yield "tt_songs"
    db.execute("DROP TABLE IF EXISTS public.tt_songs")


def copy(table: str, prefix: str = "songs/") -> str:
    return f"COPY {table} FROM 's3://{BUCKET}/{prefix}' {KEYS} FORMAT AS JSON 'auto'"


@pytest.mark.parametrize("create", ["CREATE TEMP TABLE tt_category", "CREATE TEMPORARY TABLE tt_category"])
def test_copy_into_a_temporary_table_created_in_the_same_session(session, create):
    # CREATE_TABLE: TEMPORARY | TEMP, visible within the current session.
    session.run(f"{create} ({COLUMNS})")
    session.run(copy("tt_category"))
    assert session.run("SELECT pg_last_copy_count()") == [(len(file_rows()),)]
    assert sorted(session.run("SELECT song_id, title, year FROM tt_category"), key=str) == sorted(file_rows(), key=str)


def test_a_temporary_table_takes_precedence_over_a_permanent_one_unless_the_schema_is_named(session, permanent, db):
    # CREATE_TABLE: the temporary schema is first in the search path; qualify the name to reach the permanent table.
    session.run(f"CREATE TEMP TABLE {permanent} ({COLUMNS})")
    session.run(copy(permanent, "songs/a.json"))
    session.run(copy(f"public.{permanent}", "songs/b.json"))
    assert sorted(session.run(f"SELECT * FROM {permanent}"), key=str) == sorted(file_rows("songs/a.json"), key=str)
    assert sorted(session.run(f"SELECT * FROM public.{permanent}"), key=str) == sorted(
        [("SOP", "Permanent", 1970), *file_rows("songs/b.json")], key=str
    )
    session.commit()
    # Another session sees the permanent table only: the committed COPY into it, nothing of the temporary one.
    assert sorted(db.execute(f"SELECT * FROM {permanent}").fetchall(), key=str) == sorted(
        [("SOP", "Permanent", 1970), *file_rows("songs/b.json")], key=str
    )


def test_the_providers_upsert_through_a_hash_temporary_table(session, permanent, db):
    # CREATE_TABLE: a name that begins with # is a temporary table, referenced with the #. This is the
    # statement sequence of the Amazon provider's S3ToRedshiftOperator with method="UPSERT".
    session.run(f"CREATE TABLE #{permanent} (LIKE public.{permanent} INCLUDING DEFAULTS)")
    session.run(copy(f"#{permanent}"))
    session.run("BEGIN")
    session.run(
        f"DELETE FROM public.{permanent} USING #{permanent} WHERE public.{permanent}.song_id = #{permanent}.song_id"
    )
    session.run(f"INSERT INTO public.{permanent} SELECT * FROM #{permanent}")
    session.run("COMMIT")
    session.commit()
    # No key of the files is the permanent row's, so it stays beside every loaded row (duplicates included:
    # the staging copy holds both SOB rows, and Redshift enforces no key).
    expected = [("SOP", "Permanent", 1970), *file_rows()]
    assert sorted(db.execute(f"SELECT * FROM {permanent}").fetchall(), key=str) == sorted(expected, key=str)


def test_a_temporary_table_ends_with_its_session(stack, files, db):
    # CREATE_TABLE: the table is automatically dropped at the end of the session in which it is created.
    first = open_session(stack, "redshift_connector")
    first.run(f"CREATE TABLE #tt_gone ({COLUMNS})")
    first.run(copy("#tt_gone"))
    assert first.run("SELECT count(*) FROM #tt_gone") == [(len(file_rows()),)]
    first.commit()
    with pytest.raises(psycopg.errors.UndefinedTable):  # never visible to another session
        db.execute('SELECT count(*) FROM "#tt_gone"')
    first.close()
    second = open_session(stack, "psycopg")
    try:
        with pytest.raises(psycopg.errors.InternalError, match="does not exist"):
            second.run(copy("#tt_gone"))
    finally:
        second.close()
    assert db.execute("SELECT count(*) FROM pg_class WHERE relname = '#tt_gone'").fetchone() == (0,)


def test_a_temporary_table_created_in_a_rolled_back_transaction_is_gone(session):
    # Redshift's DDL is transactional: a table created in a transaction that rolls back does not exist.
    session.run(f"CREATE TEMP TABLE tt_rolled_back ({COLUMNS})")
    session.run(copy("tt_rolled_back"))
    session.rollback()
    assert session.run("SELECT to_regclass('tt_rolled_back') IS NULL") == [(True,)]


def test_rejects_and_load_commits_of_a_copy_into_a_temporary_table_name_it(session, s3):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html: tbl is the table's id.
    # https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html: one row per file loaded.
    put_objects(s3, BUCKET, {"bad/a.json": '{"song_id": "SOX", "year": 1}\n{"song_id": "SOY", "year": "MMXX"}\n'})
    session.run(f"CREATE TEMP TABLE tt_rejects ({COLUMNS})")
    session.run(copy("tt_rejects", "bad/") + " MAXERROR 5")
    table_id = session.run("SELECT 'tt_rejects'::regclass::oid::integer")[0][0]
    errors = session.run("SELECT tbl, line_number, trim(colname) FROM stl_load_errors WHERE query = pg_last_copy_id()")
    commits = session.run("SELECT trim(filename), lines_scanned FROM stl_load_commits WHERE query = pg_last_copy_id()")
    assert errors == [(table_id, 2, "year")]
    assert commits == [(f"s3://{BUCKET}/bad/a.json", 2)]
    assert session.run("SELECT song_id, year FROM tt_rejects") == [("SOX", 1)]
