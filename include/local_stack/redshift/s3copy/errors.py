"""Load errors that name the file, the place in it, the column and the reason."""

from __future__ import annotations

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
            f"{len(rejects)} rows rejected, more than MAXERROR {max_error}, so nothing was loaded. "
            f"First: {rejects[0]}"
        )
