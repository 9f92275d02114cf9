"""Load errors that name the file, the place in it, the column and the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass

RAW_VALUE_LIMIT = 80


def writable(text: str) -> str:
    """`text` as PostgreSQL can store it: NUL and what UTF-8 cannot encode (lone surrogates) shown escaped."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def shorten(value: object, limit: int = RAW_VALUE_LIMIT) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_problem(error: ValueError) -> str:
    """Where and why json.loads rejected a document: 'line L, position P: not JSON (detail)'.

    Line, position and 'not JSON' / 'not UTF-8' are ours and the same on every Python; the detail in
    brackets is the parser's wording, which changes between versions. A trailing comma is ours too:
    Python 3.13 reports it at the comma, older ones expect a value at the bracket after it.
    """
    if isinstance(error, UnicodeDecodeError):
        before = error.object[: error.start]
        line, line_start = before.count(b"\n") + 1, before.rfind(b"\n") + 1
        position = len(before[line_start:].decode("utf-8", "replace")) + 1
        return f"line {line}, position {position}: not UTF-8 (byte 0x{error.object[error.start]:02x})"
    if not isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error})"
    text, pos = error.doc, error.pos
    comma = len(text[:pos].rstrip()) - 1 if text[pos : pos + 1] in ("]", "}") else pos
    if text[comma : comma + 1] == "," and text[comma + 1 :].lstrip()[:1] in ("]", "}"):
        line, line_start = text.count("\n", 0, comma) + 1, text.rfind("\n", 0, comma) + 1
        return f"line {line}, position {comma - line_start + 1}: not JSON (trailing comma)"
    return f"line {error.lineno}, position {error.colno}: not JSON ({error.msg})"


class CopyError(RuntimeError):
    """A COPY that cannot run at all (bad options, no objects, unreadable jsonpaths, ...)."""


@dataclass
class LoadError(Exception):
    """One rejected input row, with the fields of Redshift's stl_load_errors."""

    key: str
    line: int
    position: int
    reason: str
    column: str | None = None
    column_type: str | None = None
    raw_value: str | None = None

    def __post_init__(self) -> None:  # recorded in load_errors and logged: any text from the input made writable
        self.reason = writable(self.reason)
        if self.raw_value is not None:
            self.raw_value = writable(self.raw_value)

    def __str__(self) -> str:
        place = f"{self.key} line {self.line}, position {self.position}"
        column = f", column {self.column} ({self.column_type})" if self.column else ""
        raw = f", raw value {shorten(self.raw_value)!r}" if self.raw_value is not None else ""
        return f"{place}{column}{raw}: {self.reason}"


class TooManyRejects(CopyError):
    """More rows were rejected than MAXERROR allows; nothing was loaded."""

    def __init__(self, rejects: list[LoadError], max_error: int) -> None:
        self.rejects = rejects
        super().__init__(
            f"{len(rejects)} rows rejected, more than MAXERROR {max_error}, so nothing was loaded. First: {rejects[0]}"
        )
