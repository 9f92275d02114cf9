"""Top-level JSON objects from a byte stream, with the line and position of each.

Redshift accepts one or many objects per file, single-line or pretty-printed,
separated by whitespace. Newline-delimited lines take a fast path (orjson); any
other layout falls back to the standard library's incremental decoder. Memory
holds one chunk plus the object being read, whatever the size of the file.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

import orjson

from local_stack.redshift.s3copy.errors import LoadError

CHUNK_SIZE = 1 << 20
_WHITESPACE = " \t\r\n"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_INCOMPLETE = object()  # the value continues beyond the buffer
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}


def iter_objects(
    stream: IO[bytes], key: str, chunk_size: int = CHUNK_SIZE, invalid_char_replacement: str | None = None
) -> Iterator[tuple[dict, int, int]]:
    """Yield (object, line, position) for each top-level object, 1-based.

    As in Redshift's stl_load_errors, `line` is the last line of the object; `position`
    is where the object starts on its first line. With `invalid_char_replacement`
    (ACCEPTINVCHARS), each byte of an invalid UTF-8 sequence becomes that character.
    """
    reader = _Reader(stream, key, chunk_size, invalid_char_replacement)
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    while True:
        # The fast path of newline-delimited JSON: each buffered line that starts with an object
        # and holds nothing else. It gives the same objects, lines and positions as the general
        # path below, which parses such a line with orjson as well; at any other line it stops
        # and the general path takes over. (Inline, not a method: a generator per object costs.)
        buffer, pos, line, line_start = reader.buffer, reader.pos, reader.line, reader.line_start
        newline = buffer.find("\n", pos)
        while newline >= 0 and buffer[pos] == "{":  # (pos <= newline: the index exists)
            try:
                value = loads(buffer[pos:newline])
            except decode_error:
                break
            yield value, line, pos - line_start + 1
            line, pos = line + 1, newline + 1
            line_start = pos
            newline = buffer.find("\n", pos)
        reader.pos, reader.line, reader.line_start = pos, line, line_start

        reader.skip_whitespace()
        if reader.pos >= len(reader.buffer) or _needs_more(reader.buffer, reader.pos, reader.eof):
            if reader.eof:
                if reader.pos < len(reader.buffer):
                    reader.raise_truncated()
                return
            reader.read_more()
            continue
        value, end = _decode_one(reader)
        if value is _INCOMPLETE:
            reader.read_more()
            continue
        buffer, pos, line = reader.buffer, reader.pos, reader.line
        position = pos - reader.line_start + 1
        if not isinstance(value, dict):
            kind = _JSON_KINDS.get(type(value), "a scalar")
            raise LoadError(
                key, line, position,
                f"Top-level JSON value is {kind}; each record must be a JSON object",
                raw_value=buffer[pos:end],
            )
        reader.advance(end)
        yield value, reader.line, position


class _Reader:
    """A window on the decoded text, tracking the line number and start of line at `pos`."""

    def __init__(self, stream: IO[bytes], key: str, chunk_size: int, replacement: str | None) -> None:
        self.stream, self.key, self.chunk_size = stream, key, chunk_size
        errors = _replacement_handler(replacement) if replacement else "strict"
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors)
        self.buffer, self.pos, self.eof = "", 0, False
        self.line, self.line_start = 1, 0

    def skip_whitespace(self) -> None:
        buffer, pos = self.buffer, self.pos
        while pos < len(buffer) and buffer[pos] in _WHITESPACE:
            if buffer[pos] == "\n":
                self.line, self.line_start = self.line + 1, pos + 1
            pos += 1
        self.pos = pos

    def advance(self, end: int) -> None:
        newlines = self.buffer.count("\n", self.pos, end)
        if newlines:
            self.line += newlines
            self.line_start = self.buffer.rindex("\n", self.pos, end) + 1
        self.pos = end

    def read_more(self) -> None:
        self.buffer, self.line_start = self.buffer[self.pos:], self.line_start - self.pos
        self.pos = 0
        chunk = self.stream.read(self.chunk_size)
        self.eof = not chunk
        try:
            self.buffer += self.decoder.decode(chunk, final=self.eof)
        except UnicodeDecodeError as error:
            self.raise_invalid_utf8(chunk, error)

    def raise_invalid_utf8(self, chunk: bytes, error: UnicodeDecodeError) -> None:
        chunk = error.object  # the decoder's pending bytes, then the chunk
        before = chunk[: error.start]
        line = self.line + self.buffer.count("\n") + before.count(b"\n")
        newline = before.rfind(b"\n")
        if newline >= 0:
            position = len(before[newline + 1:].decode("utf-8", "replace")) + 1
        else:  # the line began in text already decoded
            last = self.buffer.rfind("\n")
            line_start = last + 1 if last >= 0 else self.line_start
            position = len(self.buffer) - line_start + len(before.decode("utf-8", "replace")) + 1
        bad = chunk[error.start: error.end].hex(" ")
        raise LoadError(
            self.key, line, position,
            f"String contains invalid UTF-8 ({error.reason}). Bad UTF-8 hex sequence: {bad}",
            raw_value=chunk[max(0, error.start - 20): error.end + 20].decode("utf-8", "replace"),
        ) from None

    def raise_truncated(self) -> None:
        raise LoadError(
            self.key, self.line, self.pos - self.line_start + 1,
            "Invalid JSON: the last object is truncated (end of file inside a value)",
            raw_value=self.buffer[self.pos:],
        )


def _needs_more(buffer: str, pos: int, eof: bool) -> bool:
    """True when the line at `pos` may continue past the end of the buffer."""
    return not eof and buffer.find("\n", pos) < 0


def _replacement_handler(replacement: str) -> str:
    """Register (once) a codec error handler that replaces each invalid byte with `replacement`."""
    name = f"sparkify-acceptinvchars-{ord(replacement)}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, lambda error: (replacement * (error.end - error.start), error.end))
    return name


def _decode_one(reader: _Reader) -> tuple[Any, int]:
    """Decode the value at the reader's position; (_INCOMPLETE, pos) means it continues beyond the buffer."""
    buffer, pos = reader.buffer, reader.pos
    newline = buffer.find("\n", pos)
    if newline >= 0:
        try:  # fast path: the rest of the line is exactly one value
            return orjson.loads(buffer[pos:newline]), newline
        except orjson.JSONDecodeError:
            pass
    try:
        return _DECODER.raw_decode(buffer, pos)
    except json.JSONDecodeError as error:
        if reader.eof and (not buffer[error.pos:].strip() or error.msg.startswith("Unterminated string")):
            reader.raise_truncated()
        if not reader.eof and _ran_off_end(buffer, error):
            return _INCOMPLETE, pos
        line = reader.line + buffer.count("\n", pos, error.pos)
        line_start = buffer.rfind("\n", 0, error.pos) + 1 if line != reader.line else reader.line_start
        line_end = buffer.find("\n", error.pos)
        raise LoadError(
            reader.key, line, error.pos - line_start + 1, f"Invalid JSON: {error.msg}",
            raw_value=buffer[line_start:line_end if line_end >= 0 else len(buffer)],
        ) from None
    except ValueError as error:  # NaN, Infinity
        raise LoadError(reader.key, reader.line, pos - reader.line_start + 1, f"Invalid JSON: {error}") from None


def _ran_off_end(buffer: str, error: json.JSONDecodeError) -> bool:
    """Whether the error may come from the buffer ending inside a value (a cut literal, escape or string)."""
    near_end = error.pos >= len(buffer) - 8 or not buffer[error.pos:].strip()
    return near_end or error.msg.startswith("Unterminated string")
