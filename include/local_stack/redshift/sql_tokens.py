"""A small SQL lexer for the statements the Redshift emulator inspects (COPY, CREATE TABLE, ALTER TABLE).

It knows exactly as much SQL as is needed to find keywords safely: comments (`--`, nested
`/* */`), string literals ('' escapes, E'...' backslash escapes), quoted identifiers ("" escapes),
dollar-quoted strings, words, numbers and single-character punctuation. Each token keeps its
place in the source, so a caller can rewrite a statement by replacing spans of the original text.

The lexer never fails: an unterminated string, identifier or comment runs to the end of the text
and its token is marked `closed=False`, so that `redact` still works on broken statements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

WORD, STRING, IDENT, NUMBER, PUNCT = "word", "string", "ident", "number", "punct"

_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_PARAMETER = re.compile(r"\$\d+")
_SPACE = re.compile(r"\s+")
_SIMPLE_PUNCT = frozenset("(),;=<>+*%|:[]")  # characters that never start anything longer than themselves


class StatementError(Exception):
    """A statement the emulator refuses, with the SQLSTATE to send to the client.

    42601 is a syntax error; 0A000 a feature the local emulator does not support; 22023 an
    invalid option value. Messages never contain credentials.
    """

    def __init__(self, message: str, sqlstate: str = "42601", detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail  # the error's DETAIL field: what the emulator knows of the cause


@dataclass(frozen=True)
class Token:
    kind: str  # WORD, STRING (also dollar-quoted), IDENT (a "quoted identifier"), NUMBER or PUNCT
    value: str  # a word as written, a string's or identifier's content unescaped, a number, a character
    start: int
    end: int
    closed: bool = True  # False for a string, identifier or comment that the text ends inside

    def is_word(self, *words: str) -> bool:
        return self.kind == WORD and self.value.upper() in words

    def is_punct(self, char: str) -> bool:
        return self.kind == PUNCT and self.value == char

    @property
    def upper(self) -> str:
        return self.value.upper() if self.kind == WORD else ""


def tokenize(sql: str) -> list[Token]:
    """The tokens of `sql`, without whitespace and comments."""
    return [token for token in _scan(sql) if token.kind != COMMENT]


def tokenize_complete(sql: str) -> list[Token] | None:
    """The tokens of `sql` as `tokenize` gives them, or None when `sql` is not complete: one pass for both."""
    tokens = []
    for token in _scan(sql):
        if not token.closed:
            return None
        if token.kind != COMMENT:
            tokens.append(token)
    return tokens


def first_word(sql: str) -> str:
    """The first word of `sql` outside comments, upper-cased ("" when it starts with anything else): it lexes
    only up to that word, so it costs microseconds whatever the statement's length."""
    for token in _scan(sql):
        if token.kind != COMMENT:
            return token.upper
    return ""


COMMENT = "comment"  # only seen inside this module: tokenize() drops comments


def _scan(sql: str) -> Iterable[Token]:
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char.isspace():
            i = _SPACE.match(sql, i).end()  # type: ignore[union-attr]  # matches: sql[i] is a space
            continue
        if char in _SIMPLE_PUNCT:
            yield Token(PUNCT, char, i, i + 1)
            i += 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            token = Token(COMMENT, "", i, n if end < 0 else end + 1)
        elif sql.startswith("/*", i):
            end, closed = _skip_block_comment(sql, i)
            token = Token(COMMENT, "", i, end, closed)
        elif char == "'":
            token = _quoted(sql, i, "'", STRING)
        elif char in "eE" and sql.startswith("'", i + 1):
            token = _escape_string(sql, i)
        elif char == '"':
            token = _quoted(sql, i, '"', IDENT)
        elif char == "$" and (tag := _DOLLAR_TAG.match(sql, i)):
            body = tag.end()
            close = sql.find(tag.group(), body)
            closed = close >= 0
            end = close + len(tag.group()) if closed else n
            token = Token(STRING, sql[body : close if closed else n], i, end, closed)
        elif match := _WORD.match(sql, i):
            token = Token(WORD, match.group(), i, match.end())
        elif match := _NUMBER.match(sql, i) or _PARAMETER.match(sql, i):
            token = Token(NUMBER, match.group(), i, match.end())
        else:
            token = Token(PUNCT, char, i, i + 1)
        yield token
        i = token.end


def _quoted(sql: str, start: int, quote: str, kind: str) -> Token:
    """A string or quoted identifier starting at `start`, with doubled quotes as escapes."""
    parts, i = [], start + 1
    while True:
        close = sql.find(quote, i)
        if close < 0:
            parts.append(sql[i:])
            return Token(kind, "".join(parts), start, len(sql), closed=False)
        parts.append(sql[i:close])
        if sql.startswith(quote, close + 1):
            parts.append(quote)
            i = close + 2
        else:
            return Token(kind, "".join(parts), start, close + 1)


def _escape_string(sql: str, start: int) -> Token:
    """E'...': a backslash escapes the next character (only \\' and \\\\ matter for finding the end)."""
    parts, i, n = [], start + 2, len(sql)
    while i < n:
        char = sql[i]
        if char == "\\" and i + 1 < n:
            parts.append(sql[i + 1])
            i += 2
        elif char == "'" and sql.startswith("'", i + 1):
            parts.append("'")
            i += 2
        elif char == "'":
            return Token(STRING, "".join(parts), start, i + 1)
        else:
            parts.append(char)
            i += 1
    return Token(STRING, "".join(parts), start, n, closed=False)


def _skip_block_comment(sql: str, i: int) -> tuple[int, bool]:
    """Skip a /* */ comment, which nests in PostgreSQL; return the end and whether it was closed."""
    depth, i, n = 0, i, len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i, True
        else:
            i += 1
    return n, False
