"""COPY through the emulator equals the loader called directly, row for row and reject for reject.

Each COPY option is varied over records that hold every kind of value the converter tests use:
numbers as numbers and as text, booleans, nulls, blanks, empty strings, nested values, epoch
times, over-long strings, invalid UTF-8 and values that must be rejected.
"""

from __future__ import annotations

import gzip
import json

import psycopg
import pytest

from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.s3copy.loader import run_local_copy
from local_stack.warehouse_server import WarehouseServer
from sparkify.s3copy.spec import CopyOptions, Credentials
from tests.support import connect_redshift_connector, put_objects

pytestmark = pytest.mark.integration
BUCKET = "sparkify-equivalence"
ACCESS, SECRET = "equivalence-key", "equivalence-secret"
COLUMNS = (
    "i INTEGER, s SMALLINT, b BIGINT, d DOUBLE PRECISION, r REAL, n NUMERIC(10, 2), v VARCHAR(6), c CHAR(4), "
    "t TEXT, f BOOLEAN, ts TIMESTAMP, tz TIMESTAMPTZ, dt DATE"
)
NAMES = ["i", "s", "b", "d", "r", "n", "v", "c", "t", "f", "ts", "tz", "dt"]
VALUES = [  # one kind of value per record, put in every column
    7,
    -3,
    2**31,
    2**40,
    1.5,
    "12",
    " 8 ",
    "3.75",
    "1e3",
    "",
    "   ",
    None,
    True,
    False,
    "true",
    "f",
    "abc",
    "abcdefgh",
    "héllo wörld",
    {"nested": 1},
    [1, 2],
    1541105830796,
    1541105830,
    "2018-11-01 21:01:46",
    "2018-11-01T21:01:46Z",
    "2018-11-01",
    "not a date",
    "0x1F",
    "NaN",
    -0.0,
    123456789.125,
]


def records() -> list[dict]:
    rows = [{name.upper() if k % 2 else name: value for name in NAMES} for k, value in enumerate(VALUES)]
    rows.append({"I": 1, "v": "mixed case keys"})
    return rows


def document(compression: str | None = None, invalid_utf8: bool = False) -> bytes:
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records()).encode()
    if invalid_utf8:  # without ACCEPTINVCHARS, this fails the whole load
        raw += '{"v": "bad \xff utf8", "i": 2}\n'.encode("latin-1")
    return gzip.compress(raw) if compression == "gzip" else raw


OPTION_SETS = {
    "defaults": CopyOptions(max_error=1000),
    "ignorecase": CopyOptions(json_format="auto ignorecase", max_error=1000),
    "jsonpaths": CopyOptions(json_format=f"s3://{BUCKET}/paths.json", max_error=1000),
    "epochmillisecs": CopyOptions(timeformat="epochmillisecs", max_error=1000),
    "epochsecs": CopyOptions(timeformat="epochsecs", max_error=1000),
    "timeformat auto": CopyOptions(timeformat="auto", max_error=1000),
    "blanksasnull": CopyOptions(blanks_as_null=True, max_error=1000),
    "emptyasnull": CopyOptions(empty_as_null=True, max_error=1000),
    "truncatecolumns": CopyOptions(truncate_columns=True, max_error=1000),
    "acceptinvchars": CopyOptions(accept_inv_chars="?", max_error=1000),
    "all of them": CopyOptions(
        json_format="auto ignorecase",
        timeformat="epochmillisecs",
        blanks_as_null=True,
        empty_as_null=True,
        truncate_columns=True,
        accept_inv_chars="^",
        max_error=1000,
    ),
    "gzip": CopyOptions(compression="gzip", max_error=1000, region="us-west-2", compupdate=False, statupdate=False),
}


def copy_sql(table: str, source: str, options: CopyOptions) -> str:
    parts = [
        f"COPY {table} FROM '{source}' ACCESS_KEY_ID '{ACCESS}' SECRET_ACCESS_KEY '{SECRET}'",
        f"FORMAT AS JSON '{options.json_format}'",
    ]
    for flag, word in (
        (options.blanks_as_null, "BLANKSASNULL"),
        (options.empty_as_null, "EMPTYASNULL"),
        (options.truncate_columns, "TRUNCATECOLUMNS"),
    ):
        if flag:
            parts.append(word)
    if options.timeformat:
        parts.append(f"TIMEFORMAT '{options.timeformat}'")
    if options.accept_inv_chars:
        parts.append(f"ACCEPTINVCHARS AS '{options.accept_inv_chars}'")
    if options.compression:
        parts.append(options.compression.upper())
    if options.region:
        parts.append(f"REGION '{options.region}'")
    if options.compupdate is not None:
        parts.append(f"COMPUPDATE {'ON' if options.compupdate else 'OFF'}")
    if options.statupdate is not None:
        parts.append(f"STATUPDATE {'ON' if options.statupdate else 'OFF'}")
    parts.append(f"MAXERROR {options.max_error}")
    return " ".join(parts)


@pytest.fixture(scope="module")
def objects(s3):
    put_objects(
        s3,
        BUCKET,
        {
            "plain/a.json": document(),
            "gzip/a.json": document("gzip"),
            "invalid-utf8/a.json": document(invalid_utf8=True),
            "paths.json": json.dumps({"jsonpaths": [f"$['{n.upper()}']" for n in NAMES]}),
        },
    )


@pytest.mark.parametrize("name", list(OPTION_SETS))
def test_the_emulator_loads_what_the_loader_loads(stack, s3, db, objects, name):
    options = OPTION_SETS[name]
    folder = "gzip" if options.compression else "invalid-utf8" if options.accept_inv_chars else "plain"
    source = f"s3://{BUCKET}/{folder}/"
    for table in ("eq_emulated", "eq_direct"):
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(f"CREATE TABLE {table} ({COLUMNS})")

    conn = connect_redshift_connector(stack)
    try:
        cursor = conn.cursor()
        cursor.execute(copy_sql("eq_emulated", source, options))
        conn.commit()
        cursor.execute(
            "SELECT filename, line_number, colname, raw_field_value, err_reason "
            "FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number"
        )
        emulated_rejects = [
            tuple(value.rstrip() if isinstance(value, str) else value for value in row) for row in cursor.fetchall()
        ]
    finally:
        conn.close()

    command = CopyCommand(
        table="eq_direct", source=source, options=options, credentials=Credentials(access_key=ACCESS, secret_key=SECRET)
    )
    rejects = []
    with psycopg.connect(WarehouseServer(stack).backend_dsn()) as direct:
        run_local_copy(command, direct.cursor(), s3, rejects)
    direct_rejects = [
        (e.key, e.line, e.column or "", (e.raw_value or "")[:1024].rstrip(), e.reason[:100].rstrip()) for e in rejects
    ]

    columns = ", ".join(NAMES)
    emulated = db.execute(f"SELECT {columns} FROM eq_emulated ORDER BY {columns}").fetchall()
    direct_rows = db.execute(f"SELECT {columns} FROM eq_direct ORDER BY {columns}").fetchall()
    assert emulated == direct_rows
    assert len(emulated) + len(rejects) > len(VALUES) // 2  # the records were read, not all refused
    assert emulated_rejects == direct_rejects
