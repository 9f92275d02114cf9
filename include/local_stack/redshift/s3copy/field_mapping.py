"""How JSON objects map to target columns: jsonpaths in column order, or by name ('auto')."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from local_stack.redshift.s3copy.errors import CopyError, json_problem

Extractor = Callable[[dict], Any]
Path = tuple[str | int, ...]  # member names and list indexes, from the record down
_MISSING = object()
# Redshift's subset: $['name'] or $["name"], $.name, and [index] steps.
_STEP = re.compile(
    r"""\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\.([A-Za-z_$][\w$]*)|\[\s*(\d+)\s*\]"""
)


def parse_jsonpath(path: str) -> Path:
    """Parse one JSONPath expression into its steps, or raise ValueError."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError(f"JSONPath {path!r} must start with '$'")
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if not match:
            raise ValueError(f"JSONPath {path!r} is not supported at position {pos + 1}")
        single, double, dotted, index = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(single if single is not None else double if double is not None else dotted)
        pos = match.end()
    if not steps or isinstance(steps[0], int):
        raise ValueError(f"JSONPath {path!r} must start with a member name")
    return tuple(steps)


def path_extractor(steps: Path) -> Extractor:
    """The function that reads one path's value from a record (None when it is missing or unreachable)."""
    if len(steps) == 1:
        name = steps[0]
        return lambda record: record.get(name)

    def extract(record: dict) -> Any:
        value: Any = record
        for step in steps:
            if isinstance(step, int):
                value = value[step] if isinstance(value, list) and step < len(value) else None
            else:
                value = value.get(step) if isinstance(value, dict) else None
            if value is None:
                return None
        return value

    return extract


def jsonpaths(document: bytes, uri: str, columns: Sequence[str]) -> list[Path]:
    """The paths of a jsonpaths file, parsed; they must match the target columns one for one."""
    try:
        parsed = json.loads(document)
    except ValueError as error:
        raise CopyError(f"The jsonpaths file {uri} is not valid: {json_problem(error)}") from None
    try:
        if not isinstance(parsed, dict):
            raise TypeError("the document is not a JSON object")
        paths = parsed["jsonpaths"]
        if not isinstance(paths, list):
            raise TypeError("'jsonpaths' is not a list")
        steps = [parse_jsonpath(p) for p in paths]
    except (ValueError, KeyError, TypeError) as error:
        raise CopyError(f"The jsonpaths file {uri} is not valid: {error}") from None
    if len(steps) != len(columns):
        raise CopyError(
            f"The jsonpaths file {uri} has {len(steps)} paths but the load has {len(columns)} "
            f"target columns ({', '.join(columns)}); they must match one for one."
        )
    return steps


def auto_paths(columns: Sequence[str]) -> list[Path]:
    """'auto': each column reads the top-level member of its own name."""
    return [(column,) for column in columns]


def lower_case_keys(record: dict) -> dict:
    """'auto ignorecase' matches names after lower-casing the record's top-level keys."""
    return {k.lower(): v for k, v in record.items()}
