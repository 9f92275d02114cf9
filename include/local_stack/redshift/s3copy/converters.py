"""Casting JSON values to column types with Redshift's COPY rules.

Each converter takes a JSON value and returns the Python value to load (None for None),
or raises `ConversionError` with Redshift-like wording. An empty string loads as NULL into
any non-character column; BLANKSASNULL and EMPTYASNULL apply to character columns.

A JSON number with a fraction or an exponent is a binary double, as in Redshift's JSON reader
(whose docs warn of the "loss of numeric precision" it causes): into an integer column it loads
when its value is whole (1.540919166796e+12), and into a DECIMAL column its exact binary value
is truncated to the column's scale, or rounded half away from zero with ROUNDEC.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

import orjson

from sparkify.s3copy.spec import CopyOptions

Converter = Callable[[Any], Any]
EPOCH = datetime(1970, 1, 1)
EPOCH_DIVISORS = {"epochmillisecs": 1000, "epochsecs": 1}  # TIMEFORMAT -> units per second
_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
_NUMBER_TEXT = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")
_DECIMAL_CONTEXT = Context(prec=80)
INTEGER_RANGES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}  # type -> 2**(bits - 1)
FLOAT_TYPES = ("double precision", "real")
CHARACTER_TYPES = ("character varying", "character", "text")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates: text that UTF-8 cannot encode
_TRUE, _FALSE = {"t", "true", "1", "y", "yes", "on"}, {"f", "false", "0", "n", "no", "off"}


TEXT_NESTING_LIMIT = 512  # deeper arrays and objects are rejects in a character column (written as JSON text)


class ConversionError(ValueError):
    """A value that cannot be loaded into its column; the message says why."""


@dataclass(frozen=True)
class Column:
    """A target column as information_schema describes it."""

    name: str
    data_type: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None

    @property
    def type_label(self) -> str:
        return f"{self.data_type}({self.max_length})" if self.max_length else self.data_type


def converter_for(column: Column, options: CopyOptions, roundec: bool = False) -> Converter:
    """The converter of `column`'s values; `roundec` is COPY's ROUNDEC (decimals rounded, not truncated)."""
    kind = column.data_type
    if kind in INTEGER_RANGES:
        return _integer(INTEGER_RANGES[kind], kind)
    if kind in FLOAT_TYPES:
        return _float
    if kind == "numeric":
        return _numeric(column.precision, column.scale, roundec)
    if kind in CHARACTER_TYPES:
        return _character(column.max_length, options)
    if kind == "boolean":
        return _boolean
    if kind.startswith("timestamp"):
        return _timestamp(options.timeformat, with_zone="with time zone" in kind)
    if kind == "date":
        return _date
    raise ConversionError(f"Column {column.name} has type {kind}, which the local COPY does not support")


def as_text(value: Any) -> str:
    """The text a JSON value loads as in a character column."""
    if isinstance(value, str):
        return value if value.__class__ is str else str(value)  # LongInteger: its digits
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        return orjson.dumps(value, default=_raw_digits, option=orjson.OPT_PASSTHROUGH_SUBCLASS).decode()
    except TypeError:  # integers beyond 64 bits, nesting beyond orjson's 255 levels, lone surrogates
        pass
    # The json module's depth limit is the interpreter's recursion limit, which others change
    # (Airflow sets 5000): the loader's own limit is the same in every process.
    if _nesting(value) > TEXT_NESTING_LIMIT:
        raise ConversionError("JSON value nested too deeply to load as text")
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:
        raise ConversionError("JSON value nested too deeply to load as text") from None


def _nesting(value: Any) -> int:
    """Levels of arrays and objects in `value`, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _raw_digits(value: Any) -> Any:
    if isinstance(value, str):  # LongInteger (OPT_PASSTHROUGH_SUBCLASS): a number, written as its digits
        return orjson.Fragment(str(value))
    raise TypeError


def raw_text(value: Any) -> str:
    """The value's text for a reject's raw_value: as_text, or a description when it has none."""
    try:
        return as_text(value)
    except ConversionError as error:
        return f"({error})"


def _integer(bound: int, label: str) -> Converter:
    def convert(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):  # a JSON number with a fraction or an exponent
            value = _whole(value, label)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConversionError(f"Invalid digit, Type: {label}")
        if isinstance(value, str):
            if not value.strip():
                return None
            if not _INTEGER_TEXT.fullmatch(value):
                bad = next((c for c in value.strip() if not (c.isdigit() or c in "+-")), value)
                raise ConversionError(f"Invalid digit, Value '{bad}', Type: {label}")
            text = value.strip()
            digits = text.lstrip("+-").lstrip("0")  # int() refuses more than 4300 digits, even zeros
            if len(digits) > 19:  # beyond bigint
                raise ConversionError(f"Overflow, Type: {label}")
            value = int(digits) if digits else 0
            if text[0] == "-":
                value = -value
        if not -bound <= value < bound:
            raise ConversionError(f"Overflow, Type: {label}")
        return value

    return convert


def _whole(value: float, label: str) -> int:
    """A double that is a whole number, as an int: 1.540919166796e+12 is 1540919166796."""
    if not math.isfinite(value):
        raise ConversionError(f"Overflow, Type: {label}")
    if not value.is_integer():
        raise ConversionError(f"Invalid digit, Type: {label}")
    return int(value)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConversionError("Invalid digit, Type: double precision")
    if isinstance(value, str):
        if not value.strip():
            return None
        if not _NUMBER_TEXT.fullmatch(value):
            raise ConversionError("Invalid digit, Type: double precision")
    elif not isinstance(value, (int, float)):
        raise ConversionError("Invalid digit, Type: double precision")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ConversionError("Overflow, Type: double precision")
    return number


def _numeric(precision: int | None, scale: int | None, roundec: bool = False) -> Converter:
    quantum = Decimal(1).scaleb(-(scale or 0))
    digits = (precision or 38) - (scale or 0)  # before the point
    limit = Decimal(10) ** digits
    rounding = ROUND_HALF_UP if roundec else ROUND_DOWN  # COPY truncates unless ROUNDEC; INSERT rounds
    overflow = f"Numeric data overflow (precision {precision}, scale {scale})"

    def convert(value: Any) -> Decimal | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConversionError("Invalid digit, Type: numeric")
        try:
            if isinstance(value, float):  # the double's exact binary value: 0.29 is 0.28999…
                if not math.isfinite(value):
                    raise ConversionError(overflow)
                number = Decimal(value)
            else:
                number = Decimal(str(value).strip())
                if not number.is_finite() or not _NUMBER_TEXT.fullmatch(str(value)):
                    raise InvalidOperation
            if number and number.adjusted() >= digits:  # before quantize, which fails beyond 80 digits
                raise ConversionError(overflow)
            number = number.quantize(quantum, rounding=rounding, context=_DECIMAL_CONTEXT)
        except InvalidOperation:
            raise ConversionError("Invalid digit, Type: numeric") from None
        if abs(number) >= limit:
            raise ConversionError(overflow)
        return number if number else abs(number)  # -0.5 truncated is 0, not -0

    return convert


def _character(max_bytes: int | None, options: CopyOptions) -> Converter:
    def convert(value: Any) -> str | None:
        if value is None:
            return None
        text = as_text(value)
        if options.empty_as_null and text == "":
            return None
        if options.blanks_as_null and text != "" and not text.strip():
            return None
        if "\x00" in text:
            raise ConversionError("Invalid null byte (NUL) in string")
        if not text.isascii() and (lone := LONE_SURROGATE.search(text)):  # from a JSON escape such as "\ud800"
            if options.accept_inv_chars is None:
                bad = lone.group().encode("utf-8", "surrogatepass").hex(" ")
                raise ConversionError(
                    f"String contains invalid or unsupported UTF-8 codepoints. Bad UTF-8 hex sequence: {bad}"
                )
            text = LONE_SURROGATE.sub(options.accept_inv_chars, text)
        if max_bytes is not None and len(text) > max_bytes // 4:
            encoded = text.encode()
            if len(encoded) > max_bytes:
                if not options.truncate_columns:
                    raise ConversionError(f"String length exceeds DDL length: {len(encoded)} bytes > {max_bytes}")
                text = encoded[:max_bytes].decode("utf-8", "ignore")
        return text

    return convert


def _boolean(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = as_text(value).strip().lower()
    if text == "":
        return None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConversionError("Invalid boolean value")


def _timestamp(timeformat: str | None, with_zone: bool) -> Converter:
    divisor = EPOCH_DIVISORS.get(timeformat or "")

    def convert(value: Any) -> datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if divisor:
            number = _float(value) if isinstance(value, str) else value
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ConversionError(f"Invalid timestamp for TIMEFORMAT '{timeformat}'")
            try:
                moment = EPOCH + (timedelta(milliseconds=number) if divisor == 1000 else timedelta(seconds=number))
            except (OverflowError, ValueError):
                raise ConversionError(f"Timestamp out of range for TIMEFORMAT '{timeformat}'") from None
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(_iso_as_python_310_reads_it(value.strip()))
            except ValueError:
                raise ConversionError("Invalid timestamp format (expected YYYY-MM-DD HH:MI:SS)") from None
            if moment.tzinfo is not None:
                try:
                    moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
                except OverflowError:  # 0001-01-01T00:00:00+01:00
                    raise ConversionError("Timestamp out of range") from None
        else:
            raise ConversionError("Invalid timestamp: a number needs TIMEFORMAT 'epochsecs' or 'epochmillisecs'")
        return moment.replace(tzinfo=timezone.utc) if with_zone else moment

    return convert


# The ISO 8601 spellings Python 3.11+ reads and 3.10's fromisoformat (which reads only what
# isoformat() writes) does not: a Z suffix, 1 to 6 fractional digits, +HH and +HHMM offsets.
_ISO_TIMESTAMP = re.compile(
    r"(?P<head>\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)(?:\.(?P<fraction>\d{1,6}))?(?P<zone>Z|[+-]\d\d(?::?\d\d)?)?"
)


def _iso_as_python_310_reads_it(text: str) -> str:
    """The same timestamp in the spelling every supported Python's fromisoformat reads."""
    match = _ISO_TIMESTAMP.fullmatch(text)
    if not match:
        return text
    head, fraction, zone = match.group("head", "fraction", "zone")
    if zone:
        zone = "+00:00" if zone == "Z" else f"{zone[:3]}:{zone[-2:] if len(zone) > 3 else '00'}"
    return head + (f".{fraction.ljust(6, '0')}" if fraction else "") + (zone or "")


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ConversionError("Invalid date")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConversionError("Invalid date format (expected YYYY-MM-DD)") from None
