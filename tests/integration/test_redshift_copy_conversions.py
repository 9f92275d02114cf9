"""COPY through the emulator as on Redshift: IDENTITY columns, EXPLICIT_IDS, ROUNDEC and JSON numbers.

Each expectation comes from the Redshift documentation cited above the test, or, where the docs
do not say (marked "not confirmed by the docs"), from the behaviour docs/redshift-emulator.md chose.
Expected numbers are computed here with Python's decimal module, independently of the loader.
"""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, Decimal

import psycopg
import pytest

from tests.support import put_objects

pytestmark = pytest.mark.integration
BUCKET = "sparkify-copy-conversions"
KEYS = "ACCESS_KEY_ID 'conversions-key' SECRET_ACCESS_KEY 'conversions-secret'"
COLUMN_MAPPING = "https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-column-mapping.html"
DATA_CONVERSION = "https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html"
COPY_FROM_JSON = "https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html"

# The 18 fields of a Sparkify log event, in the order of the official starter's jsonpaths file.
EVENT_FIELDS = [
    "artist",
    "auth",
    "firstName",
    "gender",
    "itemInSession",
    "lastName",
    "length",
    "level",
    "location",
    "method",
    "page",
    "registration",
    "sessionId",
    "song",
    "status",
    "ts",
    "userAgent",
    "userId",
]
# The starter's staging_events, with an IDENTITY column in front (19 columns, 18 paths).
STAGING_EVENTS = """CREATE TABLE conv_staging_events (
    event_id BIGINT IDENTITY(0, 1),
    artist VARCHAR(256), auth VARCHAR(256), firstname VARCHAR(256), gender VARCHAR(256), iteminsession INT4,
    lastname VARCHAR(256), length NUMERIC(18, 0), level VARCHAR(256), location VARCHAR(256), method VARCHAR(256),
    page VARCHAR(256), registration NUMERIC(18, 0), sessionid INT4, song VARCHAR(256), status INT4, ts INT8,
    useragent VARCHAR(256), userid INT4
)"""
# One record as the real 2018 log files write it: registration in exponent form.
EVENT_LINE = (
    '{"artist":"Des\'ree","auth":"Logged In","firstName":"Kaylee","gender":"F","itemInSession":1,'
    '"lastName":"Summers","length":246.30812,"level":"free","location":"Phoenix-Mesa-Scottsdale, AZ",'
    '"method":"PUT","page":"NextSong","registration":1.540344794796e+12,"sessionId":139,'
    '"song":"You Gotta Be","status":200,"ts":1541106106796,"userAgent":"Mozilla\\/5.0","userId":"8"}\n'
)


def lines(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def copy(db: psycopg.Connection, table: str, key: str, options: str = "", columns: str = "") -> None:
    db.execute(f"COPY {table} {columns} FROM 's3://{BUCKET}/{key}' {KEYS} FORMAT AS JSON {options}")


def failed_copy(db: psycopg.Connection, table: str, key: str, options: str = "", columns: str = "") -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        copy(db, table, key, options, columns)
    return caught.value


@pytest.fixture
def people(db, s3):
    """A table with an IDENTITY(100, 10) column between two others, and three records that also carry an id."""
    db.execute("DROP TABLE IF EXISTS conv_people")
    db.execute("CREATE TABLE conv_people (name VARCHAR(16) NOT NULL, id BIGINT IDENTITY(100, 10), age INT)")
    put_objects(
        s3,
        BUCKET,
        {
            "people/a.json": lines(
                {"name": "ann", "id": 7, "age": 30}, {"name": "bob", "id": 8, "age": 40}, {"name": "cy", "id": 9}
            ),
            "people.paths": json.dumps({"jsonpaths": ["$.name", "$.age"]}),
            "people-all.paths": json.dumps({"jsonpaths": ["$.name", "$.id", "$.age"]}),
        },
    )
    return "conv_people"


def rows(db: psycopg.Connection, table: str) -> list[tuple]:
    return db.execute(f"SELECT name, id, age FROM {table} ORDER BY name").fetchall()


# --- IDENTITY columns: COLUMN_MAPPING ("Column list") and DATA_CONVERSION (EXPLICIT_IDS) ----------------------


def test_without_a_column_list_identity_columns_are_left_out_and_generated(db, people):
    # COLUMN_MAPPING: "If no column list is specified, the command behaves as if a complete, in-order column list
    # was specified, with IDENTITY columns omitted if EXPLICIT_IDS was also not specified."
    copy(db, people, "people/", "'auto'")
    assert rows(db, people) == [("ann", 100, 30), ("bob", 110, 40), ("cy", 120, None)]


def test_without_a_column_list_jsonpaths_match_the_columns_other_than_identity(db, people):
    copy(db, people, "people/", f"'s3://{BUCKET}/people.paths'")
    assert rows(db, people) == [("ann", 100, 30), ("bob", 110, 40), ("cy", 120, None)]
    # A path for the IDENTITY column is one path too many for the two columns the COPY loads.
    error = failed_copy(db, people, "people/", f"'s3://{BUCKET}/people-all.paths'")
    assert "3 paths" in str(error) and "2 target columns" in str(error)


def test_explicit_ids_without_a_column_list_loads_identity_values_from_the_data(db, people):
    # DATA_CONVERSION, EXPLICIT_IDS: "override the autogenerated values with explicit values from the source data".
    copy(db, people, "people/", "'auto' EXPLICIT_IDS")
    assert rows(db, people) == [("ann", 7, 30), ("bob", 8, 40), ("cy", 9, None)]
    db.execute(f"TRUNCATE {people}")
    copy(db, people, "people/", f"'s3://{BUCKET}/people-all.paths' EXPLICIT_IDS")
    assert rows(db, people) == [("ann", 7, 30), ("bob", 8, 40), ("cy", 9, None)]


def test_a_column_list_names_an_identity_column_only_with_explicit_ids(db, people):
    # COLUMN_MAPPING: "If an IDENTITY column is included in the column list, then EXPLICIT_IDS must also be
    # specified; if an IDENTITY column is omitted, then EXPLICIT_IDS can't be specified."
    error = failed_copy(db, people, "people/", "'auto'", "(name, id)")
    assert error.sqlstate == "XX000" and "EXPLICIT_IDS" in str(error) and "id" in str(error)
    error = failed_copy(db, people, "people/", "'auto' EXPLICIT_IDS", "(name, age)")
    assert error.sqlstate == "XX000" and "EXPLICIT_IDS" in str(error)
    assert rows(db, people) == []
    copy(db, people, "people/", "'auto' EXPLICIT_IDS", "(id, name)")
    assert rows(db, people) == [("ann", 7, None), ("bob", 8, None), ("cy", 9, None)]
    db.execute(f"TRUNCATE {people}")
    copy(db, people, "people/", "'auto'", "(age, name)")  # the IDENTITY column left out: generated
    assert [r[1] for r in rows(db, people)] == [100, 110, 120]


def test_the_starters_jsonpaths_load_a_staging_table_with_an_identity_column(db, s3):
    # The case: 18 jsonpaths, 19 columns of which one is IDENTITY. COLUMN_MAPPING as above.
    db.execute("DROP TABLE IF EXISTS conv_staging_events")
    db.execute(STAGING_EVENTS)
    paths = {"jsonpaths": [f"$['{field}']" for field in EVENT_FIELDS]}
    put_objects(s3, BUCKET, {"events/2018-11-01-events.json": EVENT_LINE, "events.paths": json.dumps(paths)})
    copy(db, "conv_staging_events", "events/", f"'s3://{BUCKET}/events.paths'")
    copy(db, "conv_staging_events", "events/", "'auto ignorecase'")
    loaded = db.execute(
        "SELECT event_id, length, registration, ts, userid FROM conv_staging_events ORDER BY event_id"
    ).fetchall()
    record = json.loads(EVENT_LINE)
    expected = (
        Decimal(record["length"]).quantize(Decimal(1), ROUND_DOWN),  # 246.30812 into NUMERIC(18,0): truncated
        int(Decimal("1.540344794796e+12")),
        record["ts"],
        int(record["userId"]),
    )
    assert loaded == [(0, *expected), (1, *expected)]


# --- ROUNDEC: DATA_CONVERSION --------------------------------------------------------------------------------


@pytest.fixture
def amounts(db, s3):
    db.execute("DROP TABLE IF EXISTS conv_amounts")
    db.execute("CREATE TABLE conv_amounts (n INT, a DECIMAL(8, 2))")
    return "conv_amounts"


def amounts_after(db, s3, table: str, key: str, body: str, options: str = "") -> list[Decimal]:
    put_objects(s3, BUCKET, {key: body})
    db.execute(f"TRUNCATE {table}")
    copy(db, table, key, f"'auto' {options}")
    return [r[0] for r in db.execute(f"SELECT a FROM {table} ORDER BY n")]


def test_decimals_are_truncated_to_the_scale_and_rounded_with_roundec(db, s3, amounts):
    # DATA_CONVERSION, ROUNDEC: "if a value of 20.259 is loaded into a DECIMAL(8,2) column, COPY truncates the
    # value to 20.25 by default. If ROUNDEC is specified, COPY rounds the value to 20.26."
    body = lines({"n": 1, "a": "20.259"}, {"n": 2, "a": 20.259})
    assert amounts_after(db, s3, amounts, "roundec/a.json", body) == [Decimal("20.25"), Decimal("20.25")]
    assert amounts_after(db, s3, amounts, "roundec/a.json", body, "ROUNDEC") == [Decimal("20.26"), Decimal("20.26")]


def test_truncation_and_rounding_of_negative_and_half_values(db, s3, amounts):
    # Not confirmed by the docs: truncation goes toward zero, and ROUNDEC rounds a half away from zero (as
    # INSERT does, which DATA_CONVERSION says ROUNDEC behaves like). Written as strings: exact decimals.
    texts = ["-20.259", "1.005", "-1.005", "999999.999"]
    body = lines(*({"n": i, "a": t} for i, t in enumerate(texts)))
    cent = Decimal("0.01")
    truncated = [Decimal(t).quantize(cent, ROUND_DOWN) for t in texts]
    assert amounts_after(db, s3, amounts, "halves/a.json", body) == truncated
    assert truncated == [Decimal("-20.25"), Decimal("1.00"), Decimal("-1.00"), Decimal("999999.99")]
    body = lines(*({"n": i, "a": t} for i, t in enumerate(texts[:3])))
    rounded = [Decimal("-20.26"), Decimal("1.01"), Decimal("-1.01")]
    assert amounts_after(db, s3, amounts, "halves/a.json", body, "ROUNDEC") == rounded
    # 999999.999 fits DECIMAL(8,2) truncated (999999.99) but not rounded (1000000.00): the load fails.
    put_objects(s3, BUCKET, {"overflow/a.json": lines({"n": 1, "a": "999999.999"})})
    error = failed_copy(db, amounts, "overflow/", "'auto' ROUNDEC")
    assert error.sqlstate == "XX000" and "overflow" in (error.diag.message_detail or "").lower()


def test_json_numbers_lose_precision_as_binary_doubles_and_strings_do_not(db, s3, amounts):
    # COPY_FROM_JSON, "Loss of numeric precision": JSON numbers are floating point values that "might not be
    # rounded as you expect"; the remedies are a quoted number or ROUNDEC. The exact result (the double's binary
    # value, truncated) is not confirmed by the docs.
    body = lines({"n": 1, "a": 0.29}, {"n": 2, "a": "0.29"})
    binary = Decimal(0.29).quantize(Decimal("0.01"), ROUND_DOWN)  # 0.28999999999999998… -> 0.28
    assert binary == Decimal("0.28")
    assert amounts_after(db, s3, amounts, "precision/a.json", body) == [binary, Decimal("0.29")]
    assert amounts_after(db, s3, amounts, "precision/a.json", body, "ROUNDEC") == [Decimal("0.29"), Decimal("0.29")]


# --- JSON numbers in exponent form: COPY_FROM_JSON ----------------------------------------------------------


def test_exponent_numbers_load_into_bigint_decimal_and_double(db, s3):
    db.execute("DROP TABLE IF EXISTS conv_numbers")
    db.execute("CREATE TABLE conv_numbers (b BIGINT, i INT, d DECIMAL(18, 0), e DECIMAL(18, 3), f DOUBLE PRECISION)")
    text = "1.540919166796e+12"
    line = f'{{"b": {text}, "i": 1.5e3, "d": {text}, "e": {text}, "f": {text}}}\n'
    put_objects(s3, BUCKET, {"exponent/a.json": line})
    copy(db, "conv_numbers", "exponent/", "'auto'")
    exact = Decimal(text)
    assert db.execute("SELECT b, i, d, e, f FROM conv_numbers").fetchall() == [
        (int(exact), 1500, exact.quantize(Decimal(1)), exact.quantize(Decimal("0.001")), float(text))
    ]


def test_a_fractional_number_into_an_integer_column_is_rejected(db, s3):
    # Not confirmed by the docs: a JSON number with a fraction does not load into an integer column (as the text
    # "1.5" does not: Invalid digit); it is a reject, which MAXERROR can skip.
    db.execute("DROP TABLE IF EXISTS conv_ints")
    db.execute("CREATE TABLE conv_ints (n INT, b BIGINT)")
    body = '{"n": 1, "b": 1.5}\n{"n": 2, "b": 2.25e1}\n{"n": 3, "b": 3e2}\n'
    put_objects(s3, BUCKET, {"fraction/a.json": body})
    copy(db, "conv_ints", "fraction/", "'auto' MAXERROR 5")
    assert db.execute("SELECT n, b FROM conv_ints ORDER BY n").fetchall() == [(3, 300)]
    reasons = db.execute(
        "SELECT TRIM(colname), TRIM(err_reason) FROM stl_load_errors WHERE query = pg_last_copy_id() "
        "ORDER BY line_number"
    ).fetchall()
    assert reasons == [("b", "Invalid digit, Type: bigint")] * 2
