"""Redshift's SQL dialect on PostgreSQL: every statement a client sends passes `translate` first.

`translate(sql)` returns the PostgreSQL statement to run (None when the text runs as it is), or
raises StatementError for SQL that Redshift refuses (PostgreSQL-only constructs, `refusals`) or
that the emulator cannot express (SQLSTATE 0A000, naming the construct). The work is a lexer pass
and span edits (`rewrite`); Redshift's functions that PostgreSQL lacks are SQL functions in the
catalog (functions.sql). A statement none of whose words could need either is not even lexed.
"""

from __future__ import annotations

import re

from local_stack.redshift.constraints import RELATION_REWRITES
from local_stack.redshift.dialect.refusals import UNSUPPORTED_FUNCTIONS, UNSUPPORTED_TYPES, refuse_postgresql_only
from local_stack.redshift.dialect.rewrite import Statement, rewrite
from local_stack.redshift.sql_tokens import StatementError, tokenize_complete

__all__ = ["StatementError", "translate"]

# Every word the rewrites and refusals look for, and the few phrases. A statement without any,
# outside its comments and strings, is sent as it is (most of a pipeline's statements), at the
# cost of two regex passes (about 0.05 ms for 2 kB).
_WORDS = frozenset(
    {
        "EXTRACT", "DATE_PART", "DATEPART", "PGDATE_PART", "DATEADD", "DATEDIFF", "DATE_TRUNC", "SYSDATE", "NVL",
        "NVL2", "DECODE", "VERSION", "TOP", "AVG", "TO_TIMESTAMP", "CONVERT", "PERCENTILE_CONT", "PERCENTILE_DISC",
        "LISTAGG", "ANALYZE", "VACUUM", "UNLOAD", "RETURNING", "CONFLICT", "CREATE", "ALTER", "LISTEN", "NOTIFY",
        "GENERATE_SERIES", "DISTINCT", *UNSUPPORTED_FUNCTIONS, *UNSUPPORTED_TYPES,
        *(name.upper() for _, name in RELATION_REWRITES),
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Z_][A-Z0-9_$]*")
_PHRASES = re.compile(
    r"#[A-Z_\"]|\(\s*VALUES\b|\bDISTINCT\s+(?:ON|FROM)\b|\bFILTER\s*\(|\bARRAY\s*\[|\[\s*\]|\bAS\s*\(\s*(?:INSERT|UPDATE|DELETE)\b"
)
# A string literal or parameter beside ||, looked for in the raw text (the literal is what matters).
_LITERAL_CONCATENATION = re.compile(r"'\s*\|\||\|\|\s*(?:[eE]?'|\$\d)|\$\d+\s*\|\|")
# Comments and string literals, which the gate ignores (a word in them needs nothing).
_NOISE = re.compile(r"--[^\n]*|/\*.*?\*/|'[^']*'", re.DOTALL)


def needs_translation(sql: str) -> bool:
    """False when no word or phrase of `sql` outside comments and strings could need a rewrite or a refusal."""
    code = _NOISE.sub(" ", sql).upper()
    return (
        not _WORDS.isdisjoint(_WORD.findall(code))
        or _PHRASES.search(code) is not None
        or ("||" in sql and _LITERAL_CONCATENATION.search(sql) is not None)
    )


def translate(sql: str) -> str | None:
    """The PostgreSQL text for Redshift statement `sql`, None if it runs unchanged; StatementError if refused."""
    if not needs_translation(sql):
        return None
    tokens = tokenize_complete(sql)
    if tokens is None:
        return None  # PostgreSQL reports the unterminated string or comment
    while tokens and tokens[-1].is_punct(";"):
        tokens.pop()
    if not tokens:
        return None
    if tokens[0].is_word("UNLOAD"):
        raise StatementError(
            "UNLOAD is not supported by the local Redshift emulator",
            "0A000",
            detail="Read the result with SELECT, or write it to S3 from the task; a cluster runs UNLOAD.",
        )
    refuse_postgresql_only(tokens)
    statement = Statement(sql, tokens)
    rewrite(statement)
    return statement.render() if statement.edits else None
