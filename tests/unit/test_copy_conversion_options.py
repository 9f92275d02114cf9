"""ROUNDEC, EXPLICIT_IDS, IDENTITY columns and JSON doubles in the emulator's COPY (pure functions, no services).

Expectations come from the Redshift pages cited, or are marked "not confirmed by the docs"; expected
decimals are computed with Python's decimal module, independently of the loader.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest

from local_stack.redshift.s3copy.converters import Column, ConversionError, converter_for
from local_stack.redshift.s3copy.errors import CopyError
from local_stack.redshift.s3copy.loader import target_columns
from local_stack.redshift.statements import StatementError, parse_copy
from sparkify.s3copy.spec import CopyOptions

COLUMN_MAPPING = "https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-column-mapping.html"
DATA_CONVERSION = "https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html"
COPY_FROM_JSON = "https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html"
HEAD = "COPY t FROM 's3://b/k' IAM_ROLE 'arn:aws:iam::123456789012:role/r' FORMAT AS JSON 'auto'"
DECIMAL_8_2 = Column("a", "numeric", None, 8, 2)
BIGINT = Column("b", "bigint")


def convert(column: Column, value, roundec: bool = False):
    return converter_for(column, CopyOptions(), roundec)(value)


# --- the parser: DATA_CONVERSION lists ROUNDEC and EXPLICIT_IDS as flags without arguments -----------------


@pytest.mark.parametrize(
    ("options", "roundec", "explicit_ids"),
    [("", False, False), ("ROUNDEC", True, False), ("explicit_ids", False, True), ("EXPLICIT_IDS roundec", True, True)],
)
def test_roundec_and_explicit_ids_are_parsed(options, roundec, explicit_ids):
    command = parse_copy(f"{HEAD} {options}")
    assert command.options == CopyOptions(roundec=roundec, explicit_ids=explicit_ids)


@pytest.mark.parametrize("option", ["ROUNDEC", "EXPLICIT_IDS"])
def test_a_flag_given_twice_is_refused(option):
    with pytest.raises(StatementError) as caught:
        parse_copy(f"{HEAD} {option} {option}")
    assert caught.value.sqlstate == "42601" and option in caught.value.message


# --- decimals: DATA_CONVERSION (ROUNDEC) and COPY_FROM_JSON ("Loss of numeric precision") -------------------


def test_the_documented_example_truncates_and_rounds_with_roundec():
    assert convert(DECIMAL_8_2, "20.259") == Decimal("20.25")
    assert convert(DECIMAL_8_2, "20.259", roundec=True) == Decimal("20.26")


@pytest.mark.parametrize("text", ["1.005", "-1.005", "-20.259", "0.499", "12", "999999.994", "1e2", " 3.14159 "])
def test_text_is_truncated_toward_zero_and_rounded_half_away_from_zero(text):
    # Not confirmed by the docs: the direction of truncation and of a rounded half.
    cent = Decimal("0.01")
    assert convert(DECIMAL_8_2, text) == Decimal(text.strip()).quantize(cent, ROUND_DOWN)
    assert convert(DECIMAL_8_2, text, roundec=True) == Decimal(text.strip()).quantize(cent, ROUND_HALF_UP)


@pytest.mark.parametrize("number", [0.29, 20.259, 1.005, -0.57, 277.89016, 1.540919166796e12])
def test_a_json_double_loads_its_binary_value_truncated_or_rounded(number):
    # COPY_FROM_JSON: numbers "might not be rounded as you expect"; the binary value is not confirmed by the docs.
    cent = Decimal("0.01")
    assert convert(DECIMAL_8_2 if abs(number) < 1e6 else Column("a", "numeric", None, 18, 2), number) == (
        Decimal(number).quantize(cent, ROUND_DOWN)
    )
    assert convert(Column("a", "numeric", None, 18, 2), number, roundec=True) == Decimal(number).quantize(
        cent, ROUND_HALF_UP
    )


def test_roundec_can_overflow_where_truncation_fits():
    assert convert(DECIMAL_8_2, "999999.999") == Decimal("999999.99")
    with pytest.raises(ConversionError, match=r"^Numeric data overflow \(precision 8, scale 2\)$"):
        convert(DECIMAL_8_2, "999999.999", roundec=True)
    with pytest.raises(ConversionError, match=r"^Numeric data overflow"):
        convert(DECIMAL_8_2, float("inf"))


# --- JSON doubles into integer columns ------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "expected"), [(1.540919166796e12, 1540919166796), (3e2, 300), (-2.0, -2)])
def test_a_whole_double_loads_into_bigint(number, expected):
    # The real log files' registration (1.540919166796e+12); not confirmed by the docs.
    assert convert(BIGINT, number) == expected
    assert type(convert(BIGINT, number)) is int


@pytest.mark.parametrize(
    ("number", "message"),
    [(1.5, "Invalid digit, Type: bigint"), (1e19, "Overflow, Type: bigint"), (float("inf"), "Overflow, Type: bigint")],
)
def test_a_fractional_or_huge_double_does_not_load_into_bigint(number, message):
    with pytest.raises(ConversionError, match=f"^{message}$"):
        convert(BIGINT, number)


# --- IDENTITY columns: COLUMN_MAPPING ("Column list") -----------------------------------------------------

ROWS = [  # as columns_query returns them: name, type, length, precision, scale, is_identity
    ("name", "character varying", 16, None, None, "NO"),
    ("id", "bigint", None, 64, 0, "YES"),
    ("age", "integer", None, 32, 0, "NO"),
]


def names(columns: list[Column]) -> list[str]:
    return [c.name for c in columns]


def test_without_a_column_list_identity_columns_are_omitted_unless_explicit_ids():
    assert names(target_columns(ROWS, "t")) == ["name", "age"]
    assert names(target_columns(ROWS, "t", explicit_ids=True)) == ["name", "id", "age"]


def test_a_column_list_with_an_identity_column_needs_explicit_ids_and_explicit_ids_needs_it():
    assert names(target_columns(ROWS, "t", ("age", "name"))) == ["age", "name"]
    assert names(target_columns(ROWS, "t", ("id", "name"), explicit_ids=True)) == ["id", "name"]
    with pytest.raises(CopyError, match="IDENTITY column.*id.*EXPLICIT_IDS"):
        target_columns(ROWS, "t", ("id", "name"))
    with pytest.raises(CopyError, match="EXPLICIT_IDS needs the IDENTITY column.*id"):
        target_columns(ROWS, "t", ("age", "name"), explicit_ids=True)


def test_rows_without_the_identity_field_keep_every_column():
    assert names(target_columns([r[:5] for r in ROWS], "t")) == ["name", "id", "age"]
