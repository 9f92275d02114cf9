"""One function per load that turns a JSON object into a row: every column read and cast in one call.

The column-by-column path, an extractor (`field_mapping`) then a converter (`converters`) for
each column, is the reference: it holds every COPY rule. Run for every value, it costs two
Python calls per column, 36 for each staging_events record. `compile_row_function` writes the
same work as one function, specialised by the columns' types and the load's options. For each
column it reads the value, then keeps the values that the converter would return unchanged
(None; a str that no length, blank or NUL rule touches, into a character column; an int in
range; a finite float; a bool), casts in line two common cases (ASCII digits into an integer
column, an integer epoch into a timestamp with TIMEFORMAT 'epochmillisecs' or 'epochsecs'),
and hands every other value to the column's converter.

When the function raises, the caller runs the reference path on that record: it rejects the
record with the column, raw value and reason, or loads it. A fast path can therefore cost
time, never change what a row holds or how it fails.

The source is assembled from the fixed templates below. Its only variable parts are column
indexes: the keys, converters and limits are the arguments of a factory, never written into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta, timezone
from typing import Any

from local_stack.redshift.s3copy.converters import (
    CHARACTER_TYPES,
    EPOCH,
    EPOCH_DIVISORS,
    FLOAT_TYPES,
    INTEGER_RANGES,
    LONE_SURROGATE,
    Column,
    Converter,
)
from local_stack.redshift.s3copy.field_mapping import Path, path_extractor
from sparkify.s3copy.spec import CopyOptions

RowFunction = Callable[[dict], tuple]
_ARGUMENT = re.compile(r"[a-z][a-z_]*[0-9]*")  # every name the generated source binds
_BUILTINS = {
    "str_": str,
    "int_": int,
    "float_": float,
    "bool_": bool,
    "len_": len,
    "key_error_": KeyError,
    "surrogate_": LONE_SURROGATE.search,
}

# Reading the values: top-level members by subscript (the keys k{i}), all in one `try`; a
# record that lacks one of them reads them all again with get(), which gives None for it.
_READ_MEMBER = "v{i} = record[k{i}]"
_GET_MEMBER = "v{i} = get(k{i})"
_READ_PATH = "v{i} = x{i}(record)"  # a deeper path: the extractor x{i}

# Casting it: each template leaves in v{i} what the column's converter c{i} returns for it.
# Every converter returns None for None.
_CAST_ANY = """\
if v{i} is not None:
    v{i} = c{i}(v{i})"""
# An int in range is kept; a string of at most digits{i} ASCII digits cannot overflow.
_CAST_INTEGER = """\
if v{i} is not None and not (v{i}.__class__ is int_ and lo{i} <= v{i} < hi{i}):
    if v{i}.__class__ is str_ and len_(v{i}) <= digits{i} and v{i}.isdigit() and v{i}.isascii():
        v{i} = int_(v{i})
    else:
        v{i} = c{i}(v{i})"""
# A finite float is kept (x - x is 0.0 unless x is infinite or NaN).
_CAST_FLOAT = """\
if v{i} is not None and not (v{i}.__class__ is float_ and v{i} - v{i} == 0.0):
    v{i} = c{i}(v{i})"""
_CAST_BOOLEAN = """\
if v{i} is not None and v{i}.__class__ is not bool_:
    v{i} = c{i}(v{i})"""
# An integer epoch (a bool is not one: its class is bool). epoch{i} is naive or UTC, as the
# column; unit{i} is a timedelta of one millisecond or one second (a product is exact).
_CAST_EPOCH = """\
if v{i} is not None:
    if v{i}.__class__ is int_:
        v{i} = epoch{i} + unit{i} * v{i}
    else:
        v{i} = c{i}(v{i})"""
# A str is kept when every test below that applies holds.
_CAST_CHARACTER = """\
if v{i} is not None and not ({tests}):
    v{i} = c{i}(v{i})"""
_IS_STR = "v{i}.__class__ is str_"
_NOT_EMPTY = "v{i} != ''"  # EMPTYASNULL
# It fits in size{i} bytes: it has at most fits{i} = size{i} // 4 characters (4 bytes is the most
# a character takes), or it is ASCII, a byte a character (isascii() reads a flag), and short enough.
_FITS = "(len_(v{i}) <= fits{i} or v{i}.isascii() and len_(v{i}) <= size{i})"
_NOT_EMPTY_AND_FITS = "(0 < len_(v{i}) <= fits{i} or v{i}.isascii() and 0 < len_(v{i}) <= size{i})"
_NOT_BLANK = "not v{i}.isspace()"  # BLANKSASNULL: isspace() is `s != '' and not s.strip()`
_NO_NUL = "'\\x00' not in v{i}"
_ENCODABLE = "(v{i}.isascii() or not surrogate_(v{i}))"  # UTF-8 cannot encode a lone surrogate


def compile_row_function(
    paths: Sequence[Path], columns: Sequence[Column], converters: Sequence[Converter], options: CopyOptions
) -> RowFunction:
    """The function that returns a record's row, as the reference path would, or raises."""
    source, arguments = row_function_source(paths, columns, converters, options)
    namespace: dict[str, Any] = {"__builtins__": {}}  # the source names nothing it is not given
    exec(compile(source, "<sparkify.s3copy row function>", "exec"), namespace)
    return namespace["make_row_function"](**arguments)


def row_function_source(
    paths: Sequence[Path], columns: Sequence[Column], converters: Sequence[Converter], options: CopyOptions
) -> tuple[str, dict[str, Any]]:
    """The factory's source and its arguments (kept apart so that a test can read the source)."""
    if not len(paths) == len(columns) == len(converters):
        raise ValueError("paths, columns and converters must match one for one")
    arguments: dict[str, Any] = dict(_BUILTINS)
    members = [i for i, path in enumerate(paths) if len(path) == 1]  # in column order
    body = []
    if members:
        body += [
            "try:",
            *(f"    {_READ_MEMBER.format(i=i)}" for i in members),
            "except key_error_:",
            "    get = record.get",
            *(f"    {_GET_MEMBER.format(i=i)}" for i in members),
        ]
    for i, (path, column, convert) in enumerate(zip(paths, columns, converters)):
        if len(path) == 1:
            arguments[f"k{i}"] = path[0]
        else:
            arguments[f"x{i}"] = path_extractor(path)
            body.append(_READ_PATH.format(i=i))
        arguments[f"c{i}"] = convert
        body += _cast(i, column, options, arguments).format(i=i).splitlines()
    body.append("return (" + "".join(f"v{i}, " for i in range(len(columns))) + ")")
    unsafe = [name for name in arguments if not _ARGUMENT.fullmatch(name)]
    if unsafe:
        raise ValueError(f"Not a generated argument name: {unsafe}")
    source = "\n".join(
        [
            f"def make_row_function({', '.join(arguments)}):",
            "    def row_function(record):",
            *("        " + line for line in body),
            "    return row_function",
            "",
        ]
    )
    return source, arguments


def _cast(i: int, column: Column, options: CopyOptions, arguments: dict[str, Any]) -> str:
    """The template for column i, with its limits added to `arguments`; mirrors `converter_for`."""
    kind = column.data_type
    if kind in INTEGER_RANGES:
        bound = INTEGER_RANGES[kind]
        arguments[f"lo{i}"], arguments[f"hi{i}"] = -bound, bound
        arguments[f"digits{i}"] = len(str(bound)) - 1  # 10**digits <= bound
        return _CAST_INTEGER
    if kind in FLOAT_TYPES:
        return _CAST_FLOAT
    if kind in CHARACTER_TYPES:
        tests = [_IS_STR]
        if column.max_length is not None:
            arguments[f"fits{i}"], arguments[f"size{i}"] = column.max_length // 4, column.max_length
            tests.append(_NOT_EMPTY_AND_FITS if options.empty_as_null else _FITS)
        elif options.empty_as_null:
            tests.append(_NOT_EMPTY)
        if options.blanks_as_null:
            tests.append(_NOT_BLANK)
        tests += [_NO_NUL, _ENCODABLE]
        return _CAST_CHARACTER.replace("{tests}", " and ".join(tests))
    if kind == "boolean":
        return _CAST_BOOLEAN
    if kind.startswith("timestamp") and options.timeformat in EPOCH_DIVISORS:
        arguments[f"epoch{i}"] = EPOCH.replace(tzinfo=timezone.utc) if "with time zone" in kind else EPOCH
        arguments[f"unit{i}"] = timedelta(seconds=1) / EPOCH_DIVISORS[options.timeformat]
        return _CAST_EPOCH
    return _CAST_ANY
