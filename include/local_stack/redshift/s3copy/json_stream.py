"""Top-level JSON objects from a byte stream, with the line and position of each.

Redshift accepts one or many objects per file, single-line or pretty-printed,
separated by whitespace. Newline-delimited lines take a fast path (orjson); any
other layout falls back to the standard library's incremental decoder.

Time is linear in the size of the stream, and memory holds one read plus at most
one object, whatever the layout:
- the reader remembers where the next newline is (or that there is none up to the
  end of its buffer), so each character is searched once;
- it waits for the end of a line, to parse the line whole with orjson, only while
  the line is shorter than MAX_OBJECT_BYTES; a longer line is read object by object;
- each read is at least as large as the text still pending, so an object cut by
  reads is parsed again only a bounded number of times, and copied as often;
- an object or array larger than MAX_OBJECT_BYTES fails the load, as Redshift's
  4 MB limit does; a value nested too deeply to parse is rejected (it counts toward
  MAXERROR through `on_reject`) and skipped.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from local_stack.redshift.s3copy.errors import LoadError

MAX_NESTING = 1024  # levels of arrays and objects in one value: orjson's limit, and the loader's

CHUNK_SIZE = 1 << 20
# Redshift: "The maximum size of a single JSON object or array, including braces or brackets,
# is 4 MB. [...] If [it] is exceeded, [...] the COPY command fails."
MAX_OBJECT_BYTES = 4 << 20
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_BRACKETS_OR_QUOTE = re.compile(r'[\[{]+|[\]}]+|"')
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # after an opening quote


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class LongInteger(str):
    """A JSON integer with more digits than int() converts (sys.get_int_max_str_digits()), kept as its digits.

    It loads as the text it is: into a character column as those digits; a numeric column finds it out of range.
    """


def _int_or_long(digits: str) -> int | LongInteger:
    try:
        return int(digits)
    except ValueError:
        return LongInteger(digits)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_LONG_INTEGER_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_int_or_long)
_INCOMPLETE = object()  # the value continues beyond the buffer
_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


@dataclass
class ReadStats:
    """What a read cost: `work` counts the characters searched, parsed or copied (linear in the input)."""

    work: int = 0


@dataclass(frozen=True)
class _TooDeep:
    depth: int


def iter_objects(
    stream: IO[bytes],
    key: str,
    chunk_size: int = CHUNK_SIZE,
    invalid_char_replacement: str | None = None,
    on_reject: Callable[[LoadError], None] | None = None,
    max_object_bytes: int = MAX_OBJECT_BYTES,
    stats: ReadStats | None = None,
) -> Iterator[tuple[dict, int, int]]:
    """Yield (object, line, position) for each top-level object, 1-based.

    As in Redshift's stl_load_errors, `line` is the last line of the object; `position`
    is where the object starts on its first line. With `invalid_char_replacement`
    (ACCEPTINVCHARS), each byte of an invalid UTF-8 sequence becomes that character.
    A record that cannot be parsed but can be skipped (nesting too deep) goes to
    `on_reject`, or is raised without it; any other error is raised as a LoadError.
    """
    reader = _Reader(stream, key, chunk_size, invalid_char_replacement, max_object_bytes)
    try:
        yield from _objects(reader, on_reject)
    finally:
        if stats is not None:
            stats.work += reader.work


def _objects(reader: _Reader, on_reject: Callable[[LoadError], None] | None) -> Iterator[tuple[dict, int, int]]:
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    short_line = reader.max_object_bytes // 4  # a line of at most this many characters fits the limit in bytes
    while True:
        # The fast path of newline-delimited JSON: each buffered line that starts with an object
        # and holds nothing else. It gives the same objects, lines and positions as the general
        # path below, which parses such a line with orjson as well; at any other line it stops
        # and the general path takes over. (Inline, not a method: a generator per object costs.)
        buffer, pos, line, line_start = reader.buffer, reader.pos, reader.line, reader.line_start
        start = pos
        newline = reader.next_newline()
        while newline >= 0 and buffer[pos] == "{" and newline - pos <= short_line:  # (pos <= newline)
            try:
                value = loads(buffer[pos:newline])
            except decode_error:
                reader.orjson_failed = newline
                break
            yield value, line, pos - line_start + 1
            line, pos = line + 1, newline + 1
            line_start = pos
            newline = buffer.find("\n", pos)
        if pos != start:
            reader.pos, reader.line, reader.line_start = pos, line, line_start
            reader.newline, reader.searched = newline, newline if newline >= 0 else len(buffer)
            reader.work += 2 * (pos - start) + (reader.searched - pos)  # searched, then sliced and parsed

        reader.skip_whitespace()
        if reader.pos >= len(reader.buffer):
            if reader.eof:
                return
            reader.read_more()
            continue
        if reader.waits_for_line():
            reader.read_more()
            continue
        value, end = _decode_one(reader)
        if value is _INCOMPLETE:
            reader.check_pending_size()
            reader.read_more()
            continue
        buffer, pos = reader.buffer, reader.pos
        position = pos - reader.line_start + 1
        if value.__class__ is _TooDeep:
            reader.advance(end)
            error = LoadError(
                reader.key,
                reader.line,
                position,
                f"JSON value nested {value.depth} levels deep, more than the {MAX_NESTING} levels the loader allows",
                raw_value=buffer[pos : pos + 80],
            )
            if on_reject is None:
                raise error
            on_reject(error)
            continue
        if not isinstance(value, dict):
            kind = _JSON_KINDS.get(type(value), "a scalar")
            raise LoadError(
                reader.key,
                reader.line,
                position,
                f"Top-level JSON value is {kind}; each record must be a JSON object",
                raw_value=buffer[pos:end],
            )
        reader.check_size(end)
        reader.advance(end)
        yield value, reader.line, position


class _Reader:
    """A window on the decoded text, tracking the line number and start of line at `pos`."""

    def __init__(
        self, stream: IO[bytes], key: str, chunk_size: int, replacement: str | None, max_object_bytes: int
    ) -> None:
        self.stream, self.key, self.chunk_size = stream, key, chunk_size
        self.max_object_bytes = max_object_bytes
        errors = _replacement_handler(replacement) if replacement else "strict"
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors)
        self.buffer, self.pos, self.eof = "", 0, False
        self.line, self.line_start = 1, 0  # line_start < 0: the line began before the buffer
        # The first newline at or after `pos`, once searched for; -1: none in buffer[pos:searched].
        self.newline, self.searched = -1, 0
        self.orjson_failed = -1  # the newline ending the text that orjson last failed to parse whole
        self.work = 0

    def next_newline(self) -> int:
        """The index of the first newline at or after `pos`, or -1; each character is searched once."""
        if self.newline >= self.pos:
            return self.newline
        start = self.pos if self.pos > self.searched else self.searched
        newline = self.buffer.find("\n", start)
        self.newline, self.searched = newline, newline if newline >= 0 else len(self.buffer)
        self.work += self.searched - start
        return newline

    def waits_for_line(self) -> bool:
        """Whether to read on to the end of the line first: it may be one value, which orjson parses whole.

        Not beyond MAX_OBJECT_BYTES characters of line: such a line is read object by object.
        """
        return not self.eof and self.next_newline() < 0 and len(self.buffer) - self.line_start <= self.max_object_bytes

    def skip_whitespace(self) -> None:
        end = _WHITESPACE.match(self.buffer, self.pos).end()  # type: ignore[union-attr]  # `*`: it always matches
        if end > self.pos:
            self.advance(end)

    def advance(self, end: int) -> None:
        newlines = self.buffer.count("\n", self.pos, end)
        if newlines:
            self.line += newlines
            self.line_start = self.buffer.rindex("\n", self.pos, end) + 1
        self.work += end - self.pos
        self.pos = end

    def read_more(self) -> None:
        """Append a read of at least the pending text's length (so that reads of one object grow geometrically)."""
        pos = self.pos
        self.buffer, self.pos = self.buffer[pos:], 0
        self.line_start -= pos
        self.newline = self.newline - pos if self.newline >= pos else -1
        self.searched = max(self.searched - pos, 0)
        self.orjson_failed = self.orjson_failed - pos if self.orjson_failed >= pos else -1
        chunk = self.stream.read(max(self.chunk_size, len(self.buffer)))
        self.eof = not chunk
        try:
            self.buffer += self.decoder.decode(chunk, final=self.eof)
        except UnicodeDecodeError as error:
            self.raise_invalid_utf8(chunk, error)
        self.work += len(self.buffer)

    def check_size(self, end: int) -> None:
        """Fail the load when the value at `pos`, ending at `end`, is larger than Redshift allows."""
        if end - self.pos > self.max_object_bytes // 4:  # else it fits, even at 4 bytes a character
            text = self.buffer[self.pos : end].rstrip()
            size = len(text.encode("utf-8", "surrogatepass"))
            self.work += 2 * len(text)
            if size > self.max_object_bytes:
                self.raise_too_large(f"{size} bytes")

    def check_pending_size(self) -> None:
        """Fail the load when the unfinished value at `pos` is already larger than Redshift allows."""
        if len(self.buffer) - self.pos > self.max_object_bytes:  # characters: at least as many bytes
            self.raise_too_large(f"more than {self.max_object_bytes} bytes")

    def raise_too_large(self, size: str) -> None:
        raise LoadError(
            self.key,
            self.line,
            self.pos - self.line_start + 1,
            f"JSON object or array too large: {size}, more than the maximum of {self.max_object_bytes} bytes "
            "(4 MB) for a single JSON object or array, including braces or brackets",
            raw_value=self.buffer[self.pos : self.pos + 80],
        )

    def raise_invalid_utf8(self, chunk: bytes, error: UnicodeDecodeError) -> None:
        chunk = error.object  # the decoder's pending bytes, then the chunk
        before = chunk[: error.start]
        line = self.line + self.buffer.count("\n") + before.count(b"\n")
        newline = before.rfind(b"\n")
        if newline >= 0:
            position = len(before[newline + 1 :].decode("utf-8", "replace")) + 1
        else:  # the line began in text already decoded
            last = self.buffer.rfind("\n")
            line_start = last + 1 if last >= 0 else self.line_start
            position = len(self.buffer) - line_start + len(before.decode("utf-8", "replace")) + 1
        bad = chunk[error.start : error.end].hex(" ")
        raise LoadError(
            self.key,
            line,
            position,
            f"String contains invalid UTF-8 ({error.reason}). Bad UTF-8 hex sequence: {bad}",
            raw_value=chunk[max(0, error.start - 20) : error.end + 20].decode("utf-8", "replace"),
        ) from None

    def raise_truncated(self) -> None:
        raise LoadError(
            self.key,
            self.line,
            self.pos - self.line_start + 1,
            "Invalid JSON: the last object is truncated (end of file inside a value)",
            raw_value=self.buffer[self.pos :],
        )


def _replacement_handler(replacement: str) -> str:
    """Register (once) a codec error handler that replaces each invalid byte with `replacement`."""
    name = f"sparkify-acceptinvchars-{ord(replacement)}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, lambda e: (replacement * (e.end - e.start), e.end))  # type: ignore[attr-defined]
    return name


def _decode_one(reader: _Reader) -> tuple[Any, int]:
    """Decode the value at the reader's position; (_INCOMPLETE, pos) means it continues beyond the buffer."""
    buffer, pos = reader.buffer, reader.pos
    newline = reader.next_newline()
    if newline >= 0 and newline != reader.orjson_failed:
        reader.work += 2 * (newline - pos)
        try:  # fast path: the rest of the line is exactly one value
            return orjson.loads(buffer[pos:newline]), newline
        except orjson.JSONDecodeError:
            reader.orjson_failed = newline  # not again for the other values of this line
    try:
        return _raw_decode(_DECODER, reader)
    except ValueError:  # an integer too long for int() (or NaN, which this decoder rejects again)
        try:
            return _raw_decode(_LONG_INTEGER_DECODER, reader)
        except ValueError as error:
            raise LoadError(reader.key, reader.line, pos - reader.line_start + 1, f"Invalid JSON: {error}") from None


def _raw_decode(decoder: json.JSONDecoder, reader: _Reader) -> tuple[Any, int]:
    buffer, pos = reader.buffer, reader.pos
    if buffer[pos : pos + 1] in ("[", "{"):
        # The json module's limit is the interpreter's recursion limit, which others change
        # (Airflow sets 5000): the loader's own limit is the same for every process.
        skipped = _skip_nested(buffer, pos)
        if skipped is not None and skipped[1] > MAX_NESTING:
            reader.work += skipped[0] - pos
            return _TooDeep(skipped[1]), skipped[0]
    try:
        value, end = decoder.raw_decode(buffer, pos)
        reader.work += end - pos
        return value, end
    except json.JSONDecodeError as error:
        reader.work += error.pos - pos
        if reader.eof and (not buffer[error.pos :].strip() or error.msg.startswith("Unterminated string")):
            reader.raise_truncated()
        if not reader.eof and _ran_off_end(buffer, error):
            return _INCOMPLETE, pos
        line = reader.line + buffer.count("\n", pos, error.pos)
        line_start = buffer.rfind("\n", 0, error.pos) + 1 if line != reader.line else reader.line_start
        line_end = buffer.find("\n", error.pos)
        raise LoadError(
            reader.key,
            line,
            error.pos - line_start + 1,
            f"Invalid JSON: {error.msg}",
            raw_value=buffer[line_start : line_end if line_end >= 0 else len(buffer)],
        ) from None
    except RecursionError:
        skipped = _skip_nested(buffer, pos)
        if skipped is None:  # it continues beyond the buffer
            if reader.eof:
                reader.raise_truncated()
            return _INCOMPLETE, pos
        end, depth = skipped
        reader.work += end - pos
        return _TooDeep(depth), end


def _skip_nested(buffer: str, pos: int) -> tuple[int, int] | None:
    """(end, depth) of the array or object at `pos`, by its brackets; None if it does not end in `buffer`."""
    depth = deepest = 0
    find, string_rest = _BRACKETS_OR_QUOTE.search, _STRING_REST.match
    index = pos
    while True:
        match = find(buffer, index)
        if match is None:
            return None
        token, index = match.group(), match.end()
        if token == '"':
            rest = string_rest(buffer, index)
            if rest is None:
                return None
            index = rest.end()
        elif token[0] in "[{":
            depth += len(token)
            deepest = max(deepest, depth)
        elif len(token) >= depth:
            return match.start() + depth, deepest
        else:
            depth -= len(token)


def _ran_off_end(buffer: str, error: json.JSONDecodeError) -> bool:
    """Whether the error may come from the buffer ending inside a value (a cut literal, escape or string)."""
    near_end = error.pos >= len(buffer) - 8 or not buffer[error.pos :].strip()
    return near_end or error.msg.startswith("Unterminated string")
