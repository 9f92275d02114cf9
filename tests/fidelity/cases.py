"""The fidelity cases: statements and the results or errors Redshift's documentation gives for them.

A case file (`cases/*.yaml`) holds a list of mappings:

    id:        unique name, used in test ids and the report
    area:      the report's row (`AREAS`)
    doc:       URL of the Amazon Redshift Database Developer Guide page the expectation comes from
    setup:     statements run first, in the same transaction (optional)
    statement: the statement under test
    rows:      the expected rows, a list of lists of typed values (see `matches`), or `any`
               (the statement must succeed; what it returns is not documented), or
    error:     the expected error: {sqlstate: ..., message: ...}, both optional ({} = any error)
    ordered:   false when the rows may come in any order (default true)
    columns:   the expected column names, in order (optional)
    s3:        objects to put in the case bucket first, {key: text}; `{s3}` in the SQL is
               `s3://<bucket>/<case id>/` and `{credentials}` the keys clause
    autocommit: true for statements Redshift refuses inside a transaction block (VACUUM);
               then `teardown` statements run after, and tables must have names of their own
    teardown:  statements run after an autocommit case (optional)
    note:      where the expectation follows the page's rules rather than an example it prints
    known_gap: why the emulator does not do this yet: the case then runs as a strict xfail (it
               fails loudly once it passes, so the mark goes), and the report lists it apart
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).resolve().parent / "cases"
DOC_PREFIX = "https://docs.aws.amazon.com/redshift/latest/dg/"
AREAS = (
    "date/time functions",
    "string functions",
    "conditional functions",
    "aggregates",
    "operators and casts",
    "statements",
    "DDL and constraints",
    "COPY",
    "catalog",
    "refused PostgreSQL-only SQL",
)


@dataclass(frozen=True)
class Case:
    id: str
    area: str
    doc: str
    statement: str
    setup: tuple[str, ...] = ()
    rows: list[list[Any]] | str | None = None
    error: dict[str, str] | None = None
    ordered: bool = True
    columns: tuple[str, ...] = ()
    s3: dict[str, str] = field(default_factory=dict)
    autocommit: bool = False
    teardown: tuple[str, ...] = ()
    note: str = ""
    known_gap: str = ""
    file: str = ""


def load_cases(folder: Path = CASES_DIR) -> list[Case]:
    """Every case in `folder`, checked for the fields the runner needs."""
    cases: list[Case] = []
    for path in sorted(folder.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            case = Case(
                id=raw["id"],
                area=raw["area"],
                doc=raw["doc"],
                statement=raw["statement"].strip(),
                setup=tuple(raw.get("setup") or ()),
                rows=raw.get("rows"),
                error=raw.get("error"),
                ordered=raw.get("ordered", True),
                columns=tuple(raw.get("columns") or ()),
                s3=raw.get("s3") or {},
                autocommit=raw.get("autocommit", False),
                teardown=tuple(raw.get("teardown") or ()),
                note=raw.get("note", ""),
                known_gap=raw.get("known_gap", ""),
                file=path.name,
            )
            _check(case)
            cases.append(case)
    ids = [case.id for case in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate case ids: {duplicates}")
    return cases


def _check(case: Case) -> None:
    if case.area not in AREAS:
        raise ValueError(f"{case.id}: area {case.area!r} is not one of {AREAS}")
    if not case.doc.startswith(DOC_PREFIX):
        raise ValueError(f"{case.id}: doc must be a Database Developer Guide page ({DOC_PREFIX}…)")
    if (case.rows is None) == (case.error is None):
        raise ValueError(f"{case.id}: give exactly one of rows and error")
    if isinstance(case.rows, str) and case.rows != "any":
        raise ValueError(f"{case.id}: rows is a list of rows or `any`")


def display(value: Any) -> Any:
    """A driver's value in the form the documentation prints it: timestamps as
    `YYYY-MM-DD HH:MI:SS[.ffffff]`, times as `HH:MI:SS[+TZ]`, numbers and text unchanged."""
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S") + _fraction(value.microsecond)
        return text + _offset(value.utcoffset())
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S") + _fraction(value.microsecond) + _offset(value.utcoffset())
    return value


def _fraction(microsecond: int) -> str:
    return f".{microsecond:06d}".rstrip("0") if microsecond else ""


def _offset(offset: dt.timedelta | None) -> str:
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    sign, minutes = ("-", -minutes) if minutes < 0 else ("+", minutes)
    return f"{sign}{minutes // 60:02d}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def matches(expected: Any, actual: Any) -> bool:
    """One value against the documentation's: numbers by value (floats to the 15 significant
    digits the documentation prints), booleans and NULL exactly, everything else as displayed."""
    if expected is None or isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or (expected is not None and expected == actual and type(expected) is type(actual))
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float, Decimal)):
        if isinstance(expected, float) or isinstance(actual, float):
            return math.isclose(float(actual), float(expected), rel_tol=1e-13, abs_tol=1e-15)
        return Decimal(actual) == Decimal(expected)
    if isinstance(expected, str) and isinstance(actual, Decimal):
        return actual == Decimal(expected)  # a decimal written with its scale: '20.25'
    return display(actual) == expected


def rows_match(expected: list[list[Any]], actual: list[list[Any]], ordered: bool) -> bool:
    """All rows, each value by `matches`; in any order when `ordered` is false."""
    if len(expected) != len(actual):
        return False
    if ordered:
        return all(_row_matches(e, a) for e, a in zip(expected, actual, strict=True))
    remaining = list(actual)
    for row in expected:
        found = next((a for a in remaining if _row_matches(row, a)), None)
        if found is None:
            return False
        remaining.remove(found)
    return True


def _row_matches(expected: list[Any], actual: list[Any]) -> bool:
    return len(expected) == len(actual) and all(matches(e, a) for e, a in zip(expected, actual, strict=True))
