"""The compiled row function against the reference path: an extractor, then a converter, per column.

For every supported column type, every combination of the options that change a cast, and a
wide range of JSON values, the compiled function must return exactly what the column's converter
returns (same value, same type), and must raise wherever the converter raises (the local COPY
then redoes the record column by column, to reject it with the column, raw value and reason).
"""

from __future__ import annotations

import itertools
import sys
from datetime import datetime

import pytest

from local_stack.redshift.s3copy.converters import Column, ConversionError, converter_for
from local_stack.redshift.s3copy.field_mapping import auto_paths, parse_jsonpath, path_extractor
from local_stack.redshift.s3copy.row_function import compile_row_function, row_function_source
from sparkify.s3copy.spec import CopyOptions


def varchar(n: int | None) -> Column:
    return Column("c", "character varying", max_length=n)


COLUMNS = [
    Column("c", "smallint"),
    Column("c", "integer"),
    Column("c", "bigint"),
    Column("c", "double precision"),
    Column("c", "real"),
    Column("c", "numeric", precision=10, scale=2),
    Column("c", "numeric"),
    *(varchar(n) for n in (1, 2, 3, 4, 5, 7, 8, 9, 16, 32, 256, 1024, None)),
    Column("c", "character", max_length=1),
    Column("c", "character", max_length=4),
    Column("c", "text"),
    Column("c", "boolean"),
    Column("c", "date"),
    Column("c", "timestamp without time zone"),
    Column("c", "timestamp with time zone"),
]
OPTIONS = [
    CopyOptions(timeformat=timeformat, blanks_as_null=blanks, empty_as_null=empty, truncate_columns=truncate)
    for timeformat, blanks, empty, truncate in itertools.product(
        (None, "auto", "epochsecs", "epochmillisecs"), (False, True), (False, True), (False, True)
    )
]
MS_0001 = -62135596800000  # 0001-01-01 in epoch milliseconds
MS_10000 = 253402300800000  # 10000-01-01
VALUES = [
    None,
    True,
    False,
    [],
    {},
    [1],
    {"a": 1},
    # integers, around every range and the epoch limits
    0,
    1,
    -1,
    42,
    2**15 - 1,
    2**15,
    -(2**15),
    -(2**15) - 1,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    10**30,
    -(10**30),
    1541106106796,
    MS_0001,
    MS_0001 - 1,
    MS_10000 - 1,
    MS_10000,
    MS_0001 // 1000,
    MS_0001 // 1000 - 1,
    MS_10000 // 1000 - 1,
    MS_10000 // 1000,
    10**18,
    -(10**18),
    86_400_000 * 999_999_999,
    86_400_000 * 1_000_000_000,
    # floats
    0.0,
    -0.0,
    1.5,
    -2.5,
    2.0,
    218.93179,
    0.1,
    1e-320,
    1e308,
    -1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    1541106106796.0,
    1541106106796.5,
    1e20,
    3.4e38,
    3.5e38,
    # strings: empty, blank (ASCII and Unicode whitespace), NUL
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\x0b",
    "\x1c",
    "\x85",
    "\xa0",
    "\u2028",
    "\u3000",
    "\u200b",
    " a",
    "a ",
    " a ",
    "\x00",
    "a\x00",
    "\x00 ",
    "\u3000\x00",
    # strings: lengths and bytes around every limit above
    "a",
    "ab",
    "abc",
    "abcd",
    "abcde",
    "x" * 7,
    "x" * 8,
    "x" * 9,
    "x" * 16,
    "x" * 17,
    "x" * 31,
    "x" * 32,
    "x" * 33,
    "x" * 63,
    "x" * 64,
    "x" * 65,
    "x" * 255,
    "x" * 256,
    "x" * 257,
    "x" * 1024,
    "x" * 1025,
    "é",
    "éé",
    "é" * 3,
    "é" * 4,
    "é" * 5,
    "aé",
    "日",
    "日本",
    "a日",
    "🎵",
    "a🎵",
    "🎵a",
    "é🎵",
    "Beyoncé",
    "é" * 8,
    "é" * 9,
    "é" * 16,
    "é" * 17,
    "é" * 128,
    "é" * 129,
    "🎵" * 64,
    "🎵" * 65,
    "日" * 85,
    "日" * 86,
    "🎵" * 256,
    "🎵" * 257,
    "x" * 1023 + "é",
    "x" * 255 + "é",
    "x" * 62 + "日",
    "x" * 6 + "é",
    " " * 300,
    # strings: digits, numbers, booleans, dates and times
    "0",
    "00",
    "007",
    "12",
    " 12 ",
    "12 ",
    "+5",
    "-5",
    "--5",
    "1_000",
    "٣",
    "١٢",
    "²",
    "¹²",
    "１２",
    "1.5",
    "1e3",
    ".5",
    "5.",
    "NaN",
    "inf",
    "0x10",
    "9" * 4,
    "9" * 5,
    "9" * 9,
    "9" * 10,
    "9" * 18,
    "9" * 19,
    "32767",
    "32768",
    "-32768",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "true",
    "false",
    "t",
    "f",
    "yes",
    "no",
    "on",
    "off",
    "1 ",
    "maybe",
    "TRUE",
    "2018-11-15",
    " 2018-11-15 ",
    "2018-11-15 00:00:01",
    "2018-11-15T00:00:01.5+02:00",
    "2018-11-15 00:00:01Z",
    "20181115",
    "not a date",
    "1541106106796",
    "1541106106.796",
    " 1541106106796 ",
]


def outcome(call, value):
    try:
        return "value", call(value)
    except ConversionError as error:
        return "error", str(error)


def same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, datetime) and a.tzinfo != b.tzinfo:
        return False
    return a == b or (a != a and b != b)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: o.sql())
@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: c.type_label)
def test_every_value_gives_what_the_converter_gives(column, options):
    convert = converter_for(column, options)
    row_function = compile_row_function([("c",)], [column], [convert], options)
    for value in VALUES:
        kind, expected = outcome(convert, value)
        try:
            (result,) = row_function({"c": value})
        except Exception:  # noqa: BLE001 - any exception sends the record to the reference path
            assert kind == "error", (value, expected)
            continue
        assert kind == "value", f"{value!r}: the converter raises {expected!r}, the row function returns {result!r}"
        assert same(result, expected), f"{value!r}: {result!r} != {expected!r}"


def test_values_that_need_no_cast_are_returned_as_they_are():
    options = CopyOptions(timeformat="epochmillisecs", blanks_as_null=True, empty_as_null=True, truncate_columns=True)
    columns = [varchar(256), Column("c", "integer"), Column("c", "double precision"), Column("c", "boolean")]
    values = ["Chicago-Naperville-Elgin, IL-IN-WI", 7, 218.93179, True]
    row_function = compile_row_function(
        auto_paths("abcd"), columns, [converter_for(c, options) for c in columns], options
    )
    assert all(a is b for a, b in zip(row_function(dict(zip("abcd", values))), values))


def test_unicode_blanks_are_exactly_what_strip_removes():
    """The fast path tests `isspace()`; the converter tests `s != "" and not s.strip()`."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert char.isspace() == (not char.strip()), hex(code)


# --- records: member names, paths, missing keys ----------------------------------------------


def reference_row(paths, columns, options, record):
    return tuple(converter_for(c, options)(path_extractor(p)(record)) for p, c in zip(paths, columns))


def compiled_row(paths, columns, options, record):
    converters = [converter_for(c, options) for c in columns]
    return compile_row_function(paths, columns, converters, options)(record)


OPTIONS_EVENTS = CopyOptions(
    timeformat="epochmillisecs", blanks_as_null=True, empty_as_null=True, truncate_columns=True
)
MIXED_COLUMNS = [
    varchar(16),
    Column("c", "integer"),
    Column("c", "double precision"),
    varchar(8),
    Column("c", "timestamp without time zone"),
    Column("c", "integer"),
]
MIXED_PATHS = [parse_jsonpath(p) for p in ("$.artist", "$['user']['id']", "$.length", "$.tags[1]", "$.ts", "$.id")]
RECORDS = [
    {"artist": "Muse", "user": {"id": "8"}, "length": 1.5, "tags": ["a", "b"], "ts": 1541106106796, "id": 3},
    {"artist": None, "user": {}, "length": None, "tags": [], "ts": None, "id": None},
    {},
    {"user": {"id": 9}, "tags": ["a"]},
    {"artist": " ", "user": [], "length": "2.5", "tags": "ab", "ts": "1541106106796", "id": "  "},
    {"artist": "x" * 20, "user": {"id": "12"}, "length": 1, "tags": [0, "déjà vu, again"], "ts": 0, "id": "007"},
    {"ARTIST": "Muse", "Id": 4, "extra": {"nested": [1, 2]}},
]


@pytest.mark.parametrize("record", RECORDS)
def test_records_with_paths_and_missing_members(record):
    assert compiled_row(MIXED_PATHS, MIXED_COLUMNS, OPTIONS_EVENTS, record) == reference_row(
        MIXED_PATHS, MIXED_COLUMNS, OPTIONS_EVENTS, record
    )


@pytest.mark.parametrize("record", RECORDS)
def test_only_deep_paths_and_a_single_member(record):
    deep = [p for p in MIXED_PATHS if len(p) > 1]
    deep_columns = [c for p, c in zip(MIXED_PATHS, MIXED_COLUMNS) if len(p) > 1]
    assert compiled_row(deep, deep_columns, OPTIONS_EVENTS, record) == reference_row(
        deep, deep_columns, OPTIONS_EVENTS, record
    )
    one = [("artist",)], [varchar(16)]
    assert compiled_row(*one, OPTIONS_EVENTS, record) == reference_row(*one, OPTIONS_EVENTS, record)


def test_the_same_member_for_two_columns():
    paths, columns = [("n",), ("n",)], [Column("c", "integer"), varchar(4)]
    assert compiled_row(paths, columns, CopyOptions(), {"n": 12}) == (12, "12")
    assert compiled_row(paths, columns, CopyOptions(), {}) == (None, None)


def test_no_columns():
    assert compile_row_function([], [], [], CopyOptions())({"a": 1}) == ()


def test_a_bad_value_raises_so_that_the_reference_can_name_its_column():
    paths, columns = auto_paths(["a", "b"]), [varchar(4), Column("c", "integer")]
    with pytest.raises(ConversionError, match="Invalid digit"):
        compiled_row(paths, columns, CopyOptions(), {"a": "ok", "b": "x1"})
    with pytest.raises(ConversionError, match="String length exceeds DDL length"):
        compiled_row(paths, columns, CopyOptions(), {"a": "too long", "b": 1})


# --- the generated source ----------------------------------------------------------------------


HOSTILE = ["a'); import os; ('", 'b"""\nraise SystemExit\n"""', "c\\", "{i}", "d\x00", "v0", "record", "get"]


def test_keys_and_names_never_appear_in_the_source():
    columns = [Column(name, "character varying", max_length=64) for name in HOSTILE]
    converters = [converter_for(c, CopyOptions()) for c in columns]
    paths = auto_paths(HOSTILE)
    source, arguments = row_function_source(paths, columns, converters, CopyOptions())
    for name in HOSTILE[:5]:
        assert name not in source
    record = {name: f"value of {i}" for i, name in enumerate(HOSTILE)}
    row_function = compile_row_function(paths, columns, converters, CopyOptions())
    assert row_function(record) == tuple(record.values())
    assert set(arguments) >= {f"k{i}" for i in range(len(HOSTILE))}


def test_the_source_reads_members_once_and_falls_back_to_get():
    columns = [varchar(8), Column("c", "integer")]
    source, _ = row_function_source(
        auto_paths(["a", "b"]), columns, [converter_for(c, CopyOptions()) for c in columns], CopyOptions()
    )
    assert "v0 = record[k0]" in source and "except key_error_:" in source and "v1 = get(k1)" in source


def test_paths_columns_and_converters_must_match():
    with pytest.raises(ValueError, match="one for one"):
        row_function_source([("a",)], [], [], CopyOptions())
