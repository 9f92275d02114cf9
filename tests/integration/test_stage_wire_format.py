"""The emulator's loader, called directly on its PostgreSQL: binary gives the table that text gives.

A table whose columns all have a binary-safe type is loaded with `COPY ... (FORMAT BINARY)`;
the same records, cast column by column by the converters and sent with a text COPY (what
the loader always did), must give an identical table. A table with any other type is loaded
in text, and must match as well.
"""

from __future__ import annotations

import json
import math

import psycopg
import pytest

from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.s3copy.converters import Column, converter_for
from local_stack.redshift.s3copy.field_mapping import path_extractor
from local_stack.redshift.s3copy.loader import columns_query, run_local_copy, target_columns
from local_stack.warehouse_server import WarehouseServer
from sparkify.s3copy.spec import CopyOptions, Credentials
from tests.support import clear_prefix, put_objects

pytestmark = pytest.mark.integration
BUCKET, PREFIX = "sparkify-wire-tests", "wire/"
LOADED, EXPECTED = "wire_format_loaded", "wire_format_expected"
OPTIONS = CopyOptions(timeformat="epochmillisecs", blanks_as_null=True, truncate_columns=True)
BINARY_SAFE = """
    s SMALLINT, i INTEGER, b BIGINT, d DOUBLE PRECISION, v VARCHAR(12), t TEXT, f BOOLEAN,
    ts TIMESTAMP, tz TIMESTAMPTZ, day DATE
"""
OTHER = "r REAL, n NUMERIC(12, 3), c CHAR(4), i INTEGER, v VARCHAR(12)"
RECORDS = [
    {
        "s": 32767,
        "i": 2147483647,
        "b": 9223372036854775807,
        "d": 1e308,
        "v": "x" * 12,
        "t": "tab\there",
        "f": True,
        "ts": 253402300799999,
        "tz": 0,
        "day": "9999-12-31",
        "r": 3.4e38,
        "n": "123456789.9995",
        "c": "abcd",
    },
    {
        "s": -32768,
        "i": -2147483648,
        "b": -9223372036854775808,
        "d": -5e-324,
        "v": "日本語の歌",
        "t": "back\\slash",
        "f": "off",
        "ts": -62135596800000,
        "tz": -1,
        "day": "0001-01-01",
        "r": -1e-45,
        "n": -0.0005,
        "c": "é",
    },
    {
        "s": "12",
        "i": " 42 ",
        "b": "-7",
        "d": -0.0,
        "v": "🎵🎵🎵🎵",
        "t": 'line\nbreak "quoted" \r\x01',
        "f": None,
        "ts": 1541106106796,
        "tz": "1541106106796",
        "day": " 2018-11-15 ",
        "r": 0.1,
        "n": 1,
        "c": "ab ",
    },
    {
        "s": None,
        "i": "",
        "b": None,
        "d": "1e3",
        "v": "  ",
        "t": "",
        "f": "t",
        "ts": None,
        "tz": None,
        "day": None,
        "r": None,
        "n": None,
        "c": None,
    },
    {
        "s": 0,
        "i": 0,
        "b": 0,
        "d": 218.93179,
        "v": "Beyoncé & Sigur Rós",
        "t": "\\N",
        "f": 1,
        "ts": 1541106106796.5,
        "tz": 1541106106000,
        "day": "2018-11-15",
        "r": 16777217,
        "n": "7.0",
        "c": "  ",
    },
]


@pytest.fixture
def conn(stack, s3):
    """A transaction on the emulator's PostgreSQL itself, where the loader writes."""
    clear_prefix(s3, BUCKET, PREFIX)
    with psycopg.connect(WarehouseServer(stack).backend_dsn()) as conn:
        yield conn
        conn.rollback()


def columns_of(conn, table: str) -> list[Column]:
    with conn.cursor() as cursor:
        return target_columns(cursor.execute(columns_query(table)).fetchall(), table)


def text_copy_of_the_converted_rows(conn, table: str) -> None:
    columns = columns_of(conn, table)
    fields = [(path_extractor((c.name,)), converter_for(c, OPTIONS)) for c in columns]
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for record in RECORDS:
            copy.write_row([convert(extract(record)) for extract, convert in fields])


def table_rows(conn, table: str) -> list[tuple]:
    rows = conn.execute(f"SELECT * FROM {table}").fetchall()
    # -0.0 == 0.0: compare the sign of zero too
    return [tuple((v, math.copysign(1, v)) if isinstance(v, float) else v for v in row) for row in rows]


@pytest.mark.parametrize(("definition", "binary"), [(BINARY_SAFE, True), (OTHER, False)], ids=["binary", "text"])
def test_the_local_copy_loads_what_a_text_copy_of_the_converted_values_loads(conn, s3, monkeypatch, definition, binary):
    for table in (LOADED, EXPECTED):  # rolled back at the end of the test
        conn.execute(f"CREATE TABLE {table} ({definition})")
    names = [c.name for c in columns_of(conn, LOADED)]
    put_objects(
        s3,
        BUCKET,
        {
            f"{PREFIX}a.json": "".join(
                json.dumps({k: v for k, v in r.items() if k in names}, ensure_ascii=False) + "\n" for r in RECORDS
            )
        },
    )
    command = CopyCommand(
        table=LOADED,
        source=f"s3://{BUCKET}/{PREFIX}",
        options=OPTIONS,
        credentials=Credentials(access_key="wire-test-key", secret_key="wire-test-secret"),
    )
    statements, copy = [], psycopg.Cursor.copy

    def spy(cursor, statement, *args, **kwargs):
        statements.append(statement)
        return copy(cursor, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    with conn.cursor() as cursor:
        assert run_local_copy(command, cursor, s3) == len(RECORDS)
    monkeypatch.undo()
    assert [s.endswith("(FORMAT BINARY)") for s in statements] == [binary]
    text_copy_of_the_converted_rows(conn, EXPECTED)
    assert table_rows(conn, LOADED) == table_rows(conn, EXPECTED)
    assert len(table_rows(conn, LOADED)) == len(RECORDS)
