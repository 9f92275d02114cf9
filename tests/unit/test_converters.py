"""Tests of the JSON-value-to-column casts that follow Redshift's COPY rules."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import orjson
import pytest

from local_stack.redshift.s3copy.converters import Column, ConversionError, as_text, converter_for
from local_stack.redshift.s3copy.json_stream import LongInteger
from sparkify.s3copy.spec import CopyOptions

PLAIN = CopyOptions()


def convert(column: Column, value, **options):
    return converter_for(column, CopyOptions(**options))(value)


def varchar(n: int | None = 256) -> Column:
    return Column("artist", "character varying", max_length=n)


def numeric(precision: int | None, scale: int | None) -> Column:
    return Column("amount", "numeric", precision=precision, scale=scale)


INTEGER, SMALLINT, BIGINT = Column("userid", "integer"), Column("n", "smallint"), Column("big", "bigint")
DOUBLE, REAL = Column("length", "double precision"), Column("r", "real")
BOOLEAN = Column("flag", "boolean")
TIMESTAMP = Column("start_time", "timestamp without time zone")
TIMESTAMPTZ = Column("start_time", "timestamp with time zone")
DATE = Column("day", "date")


# --- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (42, 42),
        (-7, -7),
        ("8", 8),
        ("0012", 12),
        (" 12 ", 12),
        ("+5", 5),
        ("-5", -5),
        ("\t26\n", 26),
        (None, None),
        ("", None),
        (" ", None),
        ("\t \n", None),
    ],
)
@pytest.mark.parametrize("column", [SMALLINT, INTEGER, BIGINT], ids=lambda c: c.data_type)
def test_integer_values(column, value, expected):
    result = convert(column, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("column", "lowest", "highest"),
    [(SMALLINT, -(2**15), 2**15 - 1), (INTEGER, -(2**31), 2**31 - 1), (BIGINT, -(2**63), 2**63 - 1)],
    ids=lambda c: c.data_type if isinstance(c, Column) else None,
)
def test_integer_range_and_overflow(column, lowest, highest):
    assert convert(column, lowest) == lowest
    assert convert(column, highest) == highest
    assert convert(column, str(highest)) == highest
    for outside in (lowest - 1, highest + 1, str(highest + 1), str(lowest - 1)):
        with pytest.raises(ConversionError, match=rf"^Overflow, Type: {column.data_type}$"):
            convert(column, outside)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Invalid digit, Value 'a', Type: integer"),
        ("12a", "Invalid digit, Value 'a', Type: integer"),
        ("1.5", "Invalid digit, Value '.', Type: integer"),
        ("1e3", "Invalid digit, Value 'e', Type: integer"),
        ("1 2", "Invalid digit, Value ' ', Type: integer"),
        ("+-5", "Invalid digit, Value '+-5', Type: integer"),
        (1.5, "Invalid digit, Type: integer"),
        (True, "Invalid digit, Type: integer"),
        (False, "Invalid digit, Type: integer"),
        ([1], "Invalid digit, Type: integer"),
        ({"a": 1}, "Invalid digit, Type: integer"),
    ],
)
def test_integer_rejects(value, message):
    with pytest.raises(ConversionError) as info:
        convert(INTEGER, value)
    assert str(info.value) == message


# --- double precision --------------------------------------------------------------------------


def test_double_exact_round_trip_of_json_floats():
    for parse in (orjson.loads, json.loads):
        value = parse(b'{"duration": 218.93179}')["duration"]
        result = convert(DOUBLE, value)
        assert result == 218.93179
        assert repr(result) == "218.93179"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (218.93179, 218.93179),
        (0.1, 0.1),
        (-77.0, -77.0),
        (1541106106796, 1541106106796.0),
        ("218.93179", 218.93179),
        (" 1.5 ", 1.5),
        ("-2.5E-3", -0.0025),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("+3", 3.0),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
@pytest.mark.parametrize("column", [DOUBLE, REAL], ids=lambda c: c.data_type)
def test_double_values(column, value, expected):
    result = convert(column, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "value", ["abc", "1.2.3", "1,5", "NaN", "inf", "Infinity", "0x10", "e5", "--1", True, False, [1.5], {"a": 1}]
)
def test_double_rejects(value):
    with pytest.raises(ConversionError, match=r"^Invalid digit, Type: double precision$"):
        convert(DOUBLE, value)


# --- numeric -----------------------------------------------------------------------------------


# COPY truncates decimals to the column's scale unless ROUNDEC is given; a JSON number with a
# fraction is a binary double ("Loss of numeric precision").
# https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html#copy-roundec
# https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html
@pytest.mark.parametrize(
    ("value", "expected", "rounded"),
    [
        ("20.259", "20.25", "20.26"),  # the ROUNDEC page's own example
        ("1.005", "1.00", "1.01"),
        (1.005, "1.00", "1.00"),  # the double is 1.00499999…: its binary value, not its shortest repr
        ("1.004", "1.00", "1.00"),
        ("-2.345", "-2.34", "-2.35"),  # toward zero; a half away from zero
        (2.5, "2.50", "2.50"),
        (12, "12.00", "12.00"),
        ("12", "12.00", "12.00"),
        (" 3.14159 ", "3.14", "3.14"),
        ("999.994", "999.99", "999.99"),
        ("-999.99", "-999.99", "-999.99"),
        ("1e2", "100.00", "100.00"),
        (0, "0.00", "0.00"),
    ],
)
def test_numeric_truncates_to_the_scale_and_rounds_with_roundec(value, expected, rounded):
    result = converter_for(numeric(5, 2), CopyOptions())(value)
    assert isinstance(result, Decimal)
    assert str(result) == expected
    assert str(converter_for(numeric(5, 2), CopyOptions(), roundec=True)(value)) == rounded


@pytest.mark.parametrize(
    ("value", "expected", "rounded"), [(2.5, "2", "3"), ("3.5", "3", "4"), ("-0.5", "0", "-1"), ("0.49", "0", "0")]
)
def test_numeric_with_scale_zero_truncates_to_integers(value, expected, rounded):
    assert str(convert(numeric(10, 0), value)) == expected
    assert str(converter_for(numeric(10, 0), CopyOptions(), roundec=True)(value)) == rounded


def test_numeric_without_precision_or_scale():
    assert str(convert(numeric(None, None), "123456789.6")) == "123456789"


@pytest.mark.parametrize("value", [1000, "-1000", "1000.00", 99999.9, "1e3"])
def test_numeric_overflow(value):
    with pytest.raises(ConversionError, match=r"^Numeric data overflow \(precision 5, scale 2\)$"):
        convert(numeric(5, 2), value)


def test_numeric_overflow_only_when_roundec_rounds_up():
    assert str(convert(numeric(5, 2), "999.995")) == "999.99"
    with pytest.raises(ConversionError, match=r"^Numeric data overflow"):
        converter_for(numeric(5, 2), CopyOptions(), roundec=True)("999.995")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_numeric_null(value):
    assert convert(numeric(5, 2), value) is None


@pytest.mark.parametrize("value", ["abc", "1.2.3", "1,5", "Infinity", True, [1], {"a": 1}])
def test_numeric_rejects(value):
    with pytest.raises(ConversionError, match=r"^Invalid digit, Type: numeric$"):
        convert(numeric(10, 2), value)


# --- character ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_length", "value"),
    [(5, "abcde"), (4, "éé"), (6, "日本"), (4, "🎵"), (None, "x" * 10_000), (3, ""), (1, "a")],
)
def test_varchar_within_the_byte_length(max_length, value):
    assert convert(varchar(max_length), value) == value


@pytest.mark.parametrize(
    ("max_length", "value", "size"),
    [(3, "éé", 4), (5, "abcdef", 6), (5, "日本", 6), (3, "🎵", 4), (1, "é", 2), (8, "ab" + "é" * 4, 10)],
)
def test_varchar_longer_than_the_byte_length_is_rejected(max_length, value, size):
    with pytest.raises(ConversionError) as info:
        convert(varchar(max_length), value)
    assert str(info.value) == f"String length exceeds DDL length: {size} bytes > {max_length}"


@pytest.mark.parametrize(
    ("max_length", "value", "expected"),
    [
        (5, "abcdefgh", "abcde"),
        (3, "éé", "é"),  # 4 bytes; the second 'é' would be split
        (4, "ééé", "éé"),
        (5, "日本", "日"),  # never half a character
        (2, "日本", ""),
        (6, "日本語", "日本"),
        (7, "🎵🎵", "🎵"),
        (4, "aé€", "aé"),
        (5, "abcde", "abcde"),  # exactly the limit: unchanged
        (1, "", ""),
    ],
)
def test_truncatecolumns_cuts_at_a_character_boundary(max_length, value, expected):
    result = convert(varchar(max_length), value, truncate_columns=True)
    assert result == expected
    assert len(result.encode()) <= max_length
    assert value.startswith(result)


def test_truncatecolumns_applies_to_non_string_json():
    assert convert(varchar(3), 123456, truncate_columns=True) == "123"
    with pytest.raises(ConversionError, match="6 bytes > 3"):
        convert(varchar(3), 123456)


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        ("", {}, ""),
        ("", {"empty_as_null": True}, None),
        ("", {"blanks_as_null": True}, ""),
        ("", {"blanks_as_null": True, "empty_as_null": True}, None),
        ("   ", {}, "   "),
        ("   ", {"empty_as_null": True}, "   "),
        ("   ", {"blanks_as_null": True}, None),
        ("\t \n", {"blanks_as_null": True}, None),
        ("   ", {"blanks_as_null": True, "empty_as_null": True}, None),
        (" a ", {"blanks_as_null": True, "empty_as_null": True}, " a "),
        ("a", {"blanks_as_null": True, "empty_as_null": True}, "a"),
        (None, {}, None),
        (None, {"blanks_as_null": True, "empty_as_null": True}, None),
    ],
)
def test_emptyasnull_and_blanksasnull(value, options, expected):
    assert convert(varchar(10), value, **options) == expected


def test_blanks_as_null_beats_the_length_check():
    assert convert(varchar(2), "     ", blanks_as_null=True) is None
    with pytest.raises(ConversionError):
        convert(varchar(2), "     ")


@pytest.mark.parametrize(
    "column",
    [INTEGER, SMALLINT, BIGINT, DOUBLE, REAL, numeric(5, 2), BOOLEAN, TIMESTAMP, TIMESTAMPTZ, DATE],
    ids=lambda c: c.data_type,
)
def test_empty_string_is_null_for_every_non_character_column_without_options(column):
    assert converter_for(column, PLAIN)("") is None
    assert converter_for(column, PLAIN)(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, "12"),
        (-0.5, "-0.5"),
        (218.93179, "218.93179"),
        (1541106106796, "1541106106796"),
        (True, "true"),
        (False, "false"),
        ({"a": [1, 2], "b": None}, '{"a":[1,2],"b":null}'),
        ([1, "x", {"y": True}], '[1,"x",{"y":true}]'),
        ({"é": "日本"}, '{"é":"日本"}'),
        ({}, "{}"),
        ([], "[]"),
    ],
)
def test_non_string_json_into_varchar(value, expected):
    assert convert(varchar(256), value) == expected
    assert as_text(value) == expected


@pytest.mark.parametrize(
    "column", [varchar(10), Column("t", "text"), Column("c", "character", max_length=10)], ids=lambda c: c.data_type
)
def test_nul_byte_is_rejected(column):
    with pytest.raises(ConversionError, match=r"^Invalid null byte \(NUL\) in string$"):
        convert(column, "a\x00b")


def test_text_column_has_no_length_limit():
    assert convert(Column("t", "text"), "é" * 100_000) == "é" * 100_000


# --- boolean -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("t", True),
        ("true", True),
        ("TRUE", True),
        (" True ", True),
        ("y", True),
        ("yes", True),
        ("1", True),
        ("f", False),
        ("false", False),
        ("FALSE", False),
        ("n", False),
        ("no", False),
        ("0", False),
        (1, True),
        (0, False),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_boolean_values(value, expected):
    assert convert(BOOLEAN, value) is expected


@pytest.mark.parametrize("value", ["maybe", "2", 2, -1, 1.5, "tru", [True], {"a": True}])
def test_boolean_rejects(value):
    with pytest.raises(ConversionError, match=r"^Invalid boolean value$"):
        convert(BOOLEAN, value)


# --- timestamp ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeformat", "value", "expected"),
    [
        ("epochmillisecs", 1541121934796, datetime(2018, 11, 2, 1, 25, 34, 796000)),
        ("epochmillisecs", "1541121934796", datetime(2018, 11, 2, 1, 25, 34, 796000)),
        ("epochmillisecs", " 1541121934796 ", datetime(2018, 11, 2, 1, 25, 34, 796000)),
        ("epochmillisecs", 1541121934796.0, datetime(2018, 11, 2, 1, 25, 34, 796000)),
        ("epochmillisecs", 0, datetime(1970, 1, 1)),
        ("epochmillisecs", -1000, datetime(1969, 12, 31, 23, 59, 59)),
        ("epochsecs", 1541121934, datetime(2018, 11, 2, 1, 25, 34)),
        ("epochsecs", "1541121934", datetime(2018, 11, 2, 1, 25, 34)),
        ("epochsecs", 1541121934.5, datetime(2018, 11, 2, 1, 25, 34, 500000)),
    ],
)
def test_timestamp_from_epoch(timeformat, value, expected):
    result = convert(TIMESTAMP, value, timeformat=timeformat)
    assert result == expected
    assert result.tzinfo is None


@pytest.mark.parametrize("timeformat", ["epochmillisecs", "epochsecs"])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_timestamp_epoch_null(timeformat, value):
    assert convert(TIMESTAMP, value, timeformat=timeformat) is None


@pytest.mark.parametrize("timeformat", ["epochmillisecs", "epochsecs"])
@pytest.mark.parametrize("value", [True, False, [1541121934796], {"ts": 1}])
def test_timestamp_epoch_rejects_non_numbers(timeformat, value):
    with pytest.raises(ConversionError, match=rf"^Invalid timestamp for TIMEFORMAT '{timeformat}'$"):
        convert(TIMESTAMP, value, timeformat=timeformat)


@pytest.mark.parametrize("value", ["abc", "2018-11-02 01:25:34"])
def test_timestamp_epoch_rejects_non_numeric_strings(value):
    with pytest.raises(ConversionError):
        convert(TIMESTAMP, value, timeformat="epochmillisecs")


@pytest.mark.parametrize("timeformat", [None, "auto"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-11-02 01:25:34", datetime(2018, 11, 2, 1, 25, 34)),
        ("2018-11-02T01:25:34", datetime(2018, 11, 2, 1, 25, 34)),
        (" 2018-11-02 01:25:34.796 ", datetime(2018, 11, 2, 1, 25, 34, 796000)),
        ("2018-11-02T01:25:34+02:00", datetime(2018, 11, 1, 23, 25, 34)),
        ("2018-11-01T20:25:34-05:00", datetime(2018, 11, 2, 1, 25, 34)),
        ("2018-11-02T01:25:34Z", datetime(2018, 11, 2, 1, 25, 34)),
        ("2018-11-02 01:25:34.796+00:00", datetime(2018, 11, 2, 1, 25, 34, 796000)),
        ("2018-11-02T00:30:00+05:30", datetime(2018, 11, 1, 19, 0)),
        # read by Python 3.11+ as they are, and on 3.10 after _iso_as_python_310_reads_it
        ("2018-11-02 01:25:34.7", datetime(2018, 11, 2, 1, 25, 34, 700000)),
        ("2018-11-02 01:25:34.79612Z", datetime(2018, 11, 2, 1, 25, 34, 796120)),
        ("2018-11-02T03:25:34+02", datetime(2018, 11, 2, 1, 25, 34)),
        ("2018-11-02T03:25:34+0200", datetime(2018, 11, 2, 1, 25, 34)),
        ("2018-11-02T01:25Z", datetime(2018, 11, 2, 1, 25)),
    ],
)
def test_timestamp_from_iso_strings_is_naive_utc(timeformat, value, expected):
    result = convert(TIMESTAMP, value, timeformat=timeformat)
    assert result == expected
    assert result.tzinfo is None


@pytest.mark.parametrize("timeformat", [None, "auto"])
@pytest.mark.parametrize("value", [1541121934796, 1541121934, 1.5, 0])
def test_timestamp_numbers_need_an_epoch_timeformat(timeformat, value):
    with pytest.raises(ConversionError) as info:
        convert(TIMESTAMP, value, timeformat=timeformat)
    assert str(info.value) == "Invalid timestamp: a number needs TIMEFORMAT 'epochsecs' or 'epochmillisecs'"


@pytest.mark.parametrize("timeformat", [None, "auto"])
@pytest.mark.parametrize("value", ["not a date", "2018-11-31 00:00:00", "2018-11-02 25:00:00", "1541121934796"])
def test_timestamp_bad_strings(timeformat, value):
    with pytest.raises(ConversionError, match=r"^Invalid timestamp format \(expected YYYY-MM-DD HH:MI:SS\)$"):
        convert(TIMESTAMP, value, timeformat=timeformat)


@pytest.mark.parametrize(
    ("value", "timeformat", "expected"),
    [
        ("2018-11-02T01:25:34+02:00", None, datetime(2018, 11, 1, 23, 25, 34, tzinfo=timezone.utc)),
        ("2018-11-02 01:25:34", None, datetime(2018, 11, 2, 1, 25, 34, tzinfo=timezone.utc)),
        (1541121934796, "epochmillisecs", datetime(2018, 11, 2, 1, 25, 34, 796000, tzinfo=timezone.utc)),
    ],
)
def test_timestamp_with_time_zone_is_utc(value, timeformat, expected):
    result = convert(TIMESTAMPTZ, value, timeformat=timeformat)
    assert result == expected
    assert result.utcoffset().total_seconds() == 0


# --- date --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2018-11-02", date(2018, 11, 2)), (" 2018-11-02 ", date(2018, 11, 2)), ("", None), ("  ", None), (None, None)],
)
def test_date_values(value, expected):
    assert convert(DATE, value) == expected


@pytest.mark.parametrize("value", ["2018-13-01", "2018-02-30", "02/11/2018", "yesterday"])
def test_date_bad_strings(value):
    with pytest.raises(ConversionError, match=r"^Invalid date format \(expected YYYY-MM-DD\)$"):
        convert(DATE, value)


@pytest.mark.parametrize("value", [20181102, 1.5, True, ["2018-11-02"]])
def test_date_rejects_non_strings(value):
    with pytest.raises(ConversionError, match=r"^Invalid date$"):
        convert(DATE, value)


# --- dispatch ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data_type", ["json", "jsonb", "uuid", "bytea", "interval", "time without time zone", "ARRAY", "super"]
)
def test_unsupported_type(data_type):
    with pytest.raises(ConversionError) as info:
        converter_for(Column("payload", data_type), PLAIN)
    assert str(info.value) == f"Column payload has type {data_type}, which the local COPY does not support"


def test_type_label():
    assert varchar(256).type_label == "character varying(256)"
    assert INTEGER.type_label == "integer"
    assert numeric(5, 2).type_label == "numeric"


def test_conversion_error_is_a_value_error():
    assert issubclass(ConversionError, ValueError)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (Column("c", "numeric", None, 38, 0), "NaN", "Invalid digit"),
        (Column("c", "double precision"), 10**400, "Overflow"),
        (Column("c", "double precision"), "1e400", "Overflow"),
        (Column("c", "integer"), "\uff11\uff12", "Invalid digit"),
    ],
)
def test_regressions_every_bad_value_is_a_conversion_error(column, value, message):
    with pytest.raises(ConversionError, match=message):
        converter_for(column, CopyOptions())(value)


def test_regressions_wide_numbers():
    assert converter_for(Column("c", "numeric", None, 38, 0), CopyOptions())("1" * 29) == Decimal("1" * 29)
    assert converter_for(Column("c", "character varying", 64), CopyOptions())(10**20) == "1" + "0" * 20
    with pytest.raises(ConversionError, match="out of range"):
        converter_for(Column("c", "timestamp without time zone"), CopyOptions(timeformat="epochmillisecs"))(1e20)


# --- hostile values: a ConversionError, never another exception ----------------------------------

LONG = "9" * 5000  # more digits than int() converts


@pytest.mark.parametrize("column", [SMALLINT, INTEGER, BIGINT])
@pytest.mark.parametrize("value", [LONG, "-" + LONG, " +" + LONG + " ", LongInteger(LONG), "1" + "0" * 19])
def test_integers_too_long_for_int_overflow(column, value):
    with pytest.raises(ConversionError, match=f"Overflow, Type: {column.data_type}"):
        convert(column, value)


def test_leading_zeros_are_not_digits_that_overflow():
    assert convert(BIGINT, "0" * 5000 + "9223372036854775807") == 2**63 - 1


@pytest.mark.parametrize("value", [LONG, LongInteger("-" + LONG)])
def test_long_numbers_overflow_double_and_numeric(value):
    with pytest.raises(ConversionError, match="Overflow, Type: double precision"):
        convert(DOUBLE, value)
    with pytest.raises(ConversionError, match=r"Numeric data overflow \(precision 18, scale 2\)"):
        convert(numeric(18, 2), value)


def test_a_long_integer_loads_as_its_digits_as_text():
    assert convert(varchar(None), LongInteger(LONG)) == LONG
    assert as_text({"n": [LongInteger(LONG), 1]}) == '{"n":[' + LONG + ",1]}"


@pytest.mark.parametrize("value", ["x\ud800", "\udfff", "ok \ud83c"])
def test_a_lone_surrogate_is_invalid_utf8(value):
    with pytest.raises(ConversionError, match="String contains invalid or unsupported UTF-8 codepoints"):
        convert(varchar(), value)
    assert convert(varchar(), value, accept_inv_chars="?").encode() == value.encode("utf-8", "replace")


def test_a_timestamp_with_a_zone_before_year_1_in_utc_is_out_of_range():
    with pytest.raises(ConversionError, match="Timestamp out of range"):
        convert(TIMESTAMP, "0001-01-01T00:00:00+01:00")
