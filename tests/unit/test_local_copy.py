"""`run_local_copy` without services: a fake cursor records the COPY, a fake S3 client serves the objects.

The rows written must be exactly those of the reference path (an extractor, then a converter,
per column), and bad values must be rejected with the same key, line, position, column, raw
value and reason, whatever path made the other rows.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.s3copy.converters import Column, converter_for
from local_stack.redshift.s3copy.errors import LoadError, TooManyRejects
from local_stack.redshift.s3copy.field_mapping import parse_jsonpath, path_extractor
from local_stack.redshift.s3copy.loader import run_local_copy
from sparkify.s3copy.spec import CopyOptions
from tests.unit.copy_fakes import BUCKET, KEY, FakeCursor, FakeS3

JSONPATHS = f"s3://{BUCKET}/paths.json"
EVENT_COLUMNS = [  # (name, data_type, length): staging_events as information_schema describes it
    ("artist", "character varying", 16),
    ("auth", "character varying", 8),
    ("iteminsession", "integer", None),
    ("length", "double precision", None),
    ("ts", "timestamp without time zone", None),
    ("useragent", "character varying", 64),
    ("userid", "integer", None),
]
EVENT_KEYS = ["artist", "auth", "itemInSession", "length", "ts", "userAgent", "userId"]
EVENTS_OPTIONS = CopyOptions(
    json_format=JSONPATHS,
    timeformat="epochmillisecs",
    blanks_as_null=True,
    empty_as_null=True,
    truncate_columns=True,
    max_error=10,
)


def load(columns, options: CopyOptions, data: bytes, keys=EVENT_KEYS):
    cursor = FakeCursor(columns)
    s3 = FakeS3({KEY: data, "paths.json": json.dumps({"jsonpaths": [f"$['{k}']" for k in keys]}).encode()})
    command = CopyCommand(table="staging_events", source=f"s3://{BUCKET}/{KEY}", options=options)
    rejects: list[LoadError] = []
    count = run_local_copy(command, cursor, s3, rejects)
    (copy,) = cursor.copies
    assert count == len(copy.rows)
    return copy, rejects


def reference_rows(columns, options: CopyOptions, records: list[dict], keys=EVENT_KEYS) -> list[tuple]:
    fields = [
        (path_extractor(parse_jsonpath(f"$['{k}']")), converter_for(Column(n, t, m), options))
        for k, (n, t, m) in zip(keys, columns)
    ]
    return [tuple(convert(extract(r)) for extract, convert in fields) for r in records]


def ndjson(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


GOOD_EVENTS = [
    {
        "artist": "Muse",
        "auth": "Logged In",
        "itemInSession": 0,
        "length": 218.93179,
        "ts": 1541106106796,
        "userAgent": '"Mozilla/5.0"',
        "userId": "8",
    },
    {
        "artist": None,
        "auth": "Logged Out",
        "itemInSession": "3",
        "length": None,
        "ts": 1541106352796,
        "userAgent": None,
        "userId": "",
    },
    {
        "artist": "  ",
        "auth": "",
        "itemInSession": 2**31 - 1,
        "length": "1.5",
        "ts": "1541106496796",
        "userAgent": "é" * 40,
        "userId": " 42 ",
    },
    {
        "artist": "Sigur Rós, Jónsi & Alex",
        "auth": "Logged In",
        "itemInSession": -5,
        "length": 7,
        "ts": 0,
        "userAgent": "x" * 70,
        "userId": "007",
    },
    {"auth": "Guest"},
    {
        "artist": True,
        "auth": 12,
        "itemInSession": None,
        "length": 1e-3,
        "ts": None,
        "userAgent": ["a", 1],
        "userId": 2147483647,
    },
]


def test_rows_are_those_of_the_reference_path():
    copy, rejects = load(EVENT_COLUMNS, EVENTS_OPTIONS, ndjson(GOOD_EVENTS))
    assert rejects == []
    assert copy.rows == reference_rows(EVENT_COLUMNS, EVENTS_OPTIONS, GOOD_EVENTS)
    assert copy.rows[0] == (
        "Muse",
        "Logged I",
        0,
        218.93179,
        datetime(2018, 11, 1, 21, 1, 46, 796000),
        '"Mozilla/5.0"',
        8,
    )


def test_a_table_of_binary_safe_types_is_copied_in_binary():
    copy, _ = load(EVENT_COLUMNS, EVENTS_OPTIONS, ndjson(GOOD_EVENTS[:1]))
    assert copy.sql.endswith(" FROM STDIN (FORMAT BINARY)")
    assert copy.types == [kind for _, kind, _ in EVENT_COLUMNS]


@pytest.mark.parametrize(("kind", "length"), [("real", None), ("numeric", None), ("character", 4)])
def test_any_other_type_keeps_the_text_format(kind, length):
    columns = [*EVENT_COLUMNS[:-1], ("userid", kind, length)]
    copy, _ = load(columns, EVENTS_OPTIONS, ndjson(GOOD_EVENTS[:1]))
    assert copy.sql.endswith(" FROM STDIN") and copy.types is None
    assert copy.rows == reference_rows(columns, EVENTS_OPTIONS, GOOD_EVENTS[:1])


BAD_EVENTS = [  # line, column, raw value, reason
    (2, "iteminsession", "abc", "Invalid digit, Value 'a', Type: integer"),
    (4, "ts", "1e+40", "Timestamp out of range for TIMEFORMAT 'epochmillisecs'"),
    (5, "userid", "2147483648", "Overflow, Type: integer"),
    (7, "length", "true", "Invalid digit, Type: double precision"),
]


def bad_events_file() -> bytes:
    records = [dict(GOOD_EVENTS[0], userId=str(i)) for i in range(8)]
    records[1]["itemInSession"] = "abc"
    records[3]["ts"] = 1e40
    records[4]["userId"] = "2147483648"
    records[4]["artist"] = "x" * 99  # truncated: the row fails on userid, not here
    records[6]["length"] = True
    return ndjson(records)


def test_bad_values_are_rejected_with_their_place_column_raw_value_and_reason():
    copy, rejects = load(EVENT_COLUMNS, EVENTS_OPTIONS, bad_events_file())
    assert [row[-1] for row in copy.rows] == [0, 2, 5, 7]
    uri = f"s3://{BUCKET}/{KEY}"
    assert [(r.key, r.line, r.position, r.column, r.raw_value, r.reason) for r in rejects] == [
        (uri, line, 1, column, raw, reason) for line, column, raw, reason in BAD_EVENTS
    ]
    assert [r.column_type for r in rejects] == ["integer", "timestamp without time zone", "integer", "double precision"]


def test_more_rejects_than_maxerror_fail_the_load():
    options = CopyOptions(**{**EVENTS_OPTIONS.__dict__, "max_error": 3})
    with pytest.raises(TooManyRejects, match="4 rows rejected, more than MAXERROR 3"):
        load(EVENT_COLUMNS, options, bad_events_file())


def test_without_maxerror_the_first_bad_value_fails_the_load():
    options = CopyOptions(**{**EVENTS_OPTIONS.__dict__, "max_error": 0})
    with pytest.raises(LoadError) as info:
        load(EVENT_COLUMNS, options, bad_events_file())
    assert str(info.value) == (
        f"s3://{BUCKET}/{KEY} line 2, position 1, column iteminsession (integer), raw value 'abc': "
        "Invalid digit, Value 'a', Type: integer"
    )


def test_auto_ignorecase_matches_the_reference():
    columns = [("artist", "character varying", 16), ("userid", "integer", None)]
    records = [{"Artist": "Muse", "USERID": "8"}, {"artist": "x", "userId": 9}, {"other": 1}]
    copy, _ = load(columns, CopyOptions(json_format="auto ignorecase"), ndjson(records))
    assert copy.rows == [("Muse", 8), ("x", 9), (None, None)]
    copy, _ = load(columns, CopyOptions(json_format="auto"), ndjson(records))
    assert copy.rows == [(None, None), ("x", None), (None, None)]


# --- hostile input: every bad value is a reject with its place, counted toward MAXERROR -------------

HOSTILE_COLUMNS = [("name", "character varying", 32), ("n", "integer", None), ("x", "numeric", None)]
HOSTILE_KEYS = ["name", "n", "x"]


def hostile_load(data: bytes, max_error: int = 10, accept_inv_chars: str | None = None):
    options = CopyOptions(json_format=JSONPATHS, max_error=max_error, accept_inv_chars=accept_inv_chars)
    return load(HOSTILE_COLUMNS, options, data, keys=HOSTILE_KEYS)


DIGITS = "9" * 5000
HOSTILE_RECORDS = [  # (line, column or None, reason) of the reject each one gives
    (
        b'{"name": "deep", "n": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        None,
        "JSON value nested 5001 levels deep, more than the 1024 levels the loader allows",
    ),
    (b'{"name": "digits", "n": "' + DIGITS.encode() + b'"}', "n", "Overflow, Type: integer"),
    (b'{"name": "number", "n": ' + DIGITS.encode() + b"}", "n", "Overflow, Type: integer"),
    (b'{"name": "numeric", "x": -' + DIGITS.encode() + b"}", "x", "Numeric data overflow (precision None, scale None)"),
    (
        b'{"name": "x\\ud800y"}',
        "name",
        "String contains invalid or unsupported UTF-8 codepoints. Bad UTF-8 hex sequence: ed a0 80",
    ),
    (
        b'{"name": "\\udfff"}',
        "name",
        "String contains invalid or unsupported UTF-8 codepoints. Bad UTF-8 hex sequence: ed bf bf",
    ),
]


@pytest.mark.parametrize("separator", [b"\n", b" "], ids=["ndjson", "one-line"])
@pytest.mark.parametrize(
    ("record", "column", "reason"),
    HOSTILE_RECORDS,
    ids=["deep", "digits", "number", "numeric", "surrogate", "low-surrogate"],
)
def test_hostile_values_are_rejects_with_their_place(record, column, reason, separator):
    data = b'{"name": "a", "n": 1}' + separator + record + separator + b'{"name": "b", "n": 2}\n'
    copy, rejects = hostile_load(data)
    assert copy.rows == [("a", 1, None), ("b", 2, None)]
    (reject,) = rejects
    line, position = (2, 1) if separator == b"\n" else (1, 23)
    assert (reject.key, reject.line, reject.position, reject.column) == (f"s3://{BUCKET}/{KEY}", line, position, column)
    assert reject.reason.startswith(reason)
    for text in (reject.reason, reject.raw_value, str(reject)):  # load_errors and the log can hold them
        text.encode("utf-8")
        assert "\x00" not in text


def test_a_value_orjson_parses_but_too_deep_to_write_as_text_is_a_reject():
    """orjson parses 1,020 levels on its own line; json.dumps, after orjson's 255-level limit, cannot write them."""
    copy, rejects = hostile_load(b'{"name": ' + b"[" * 1020 + b"]" * 1020 + b'}\n{"name": "b"}\n')
    assert copy.rows == [("b", None, None)]
    assert [(r.line, r.column, r.reason) for r in rejects] == [
        (1, "name", "JSON value nested too deeply to load as text")
    ]
    assert rejects[0].raw_value == "(JSON value nested too deeply to load as text)"


def test_hostile_values_count_toward_maxerror():
    data = b"\n".join(record for record, _, _ in HOSTILE_RECORDS) + b"\n"
    copy, rejects = hostile_load(data, max_error=len(HOSTILE_RECORDS))
    assert copy.rows == [] and len(rejects) == len(HOSTILE_RECORDS)
    with pytest.raises(TooManyRejects, match=f"{len(HOSTILE_RECORDS)} rows rejected, more than MAXERROR 5"):
        hostile_load(data, max_error=len(HOSTILE_RECORDS) - 1)
    with pytest.raises(LoadError, match="nested 5001 levels deep"):
        hostile_load(data, max_error=0)


def test_acceptinvchars_replaces_a_lone_surrogate():
    copy, rejects = hostile_load(
        b'{"name": "x\\ud800y\\udfff", "n": 1}\n{"name": "ok \\ud83c\\udfb5"}\n', accept_inv_chars="?"
    )
    assert rejects == []
    assert copy.rows == [("x?y?", 1, None), ("ok \U0001f3b5", None, None)]


def test_a_nul_or_surrogate_in_a_rejected_value_is_recorded_escaped():
    copy, rejects = hostile_load(b'{"n": "1\\u0000"}\n{"n": "\\ud800"}\n')
    assert copy.rows == []
    assert [(r.raw_value, r.reason) for r in rejects] == [
        ("1\\x00", "Invalid digit, Value '\\x00', Type: integer"),
        ("\\ud800", "Invalid digit, Value '\\ud800', Type: integer"),
    ]
