"""Credential values masked out of SQL text, for the emulator's statement log and its error messages."""

from __future__ import annotations

from local_stack.redshift.copy_statement import OPTION_KEYWORDS
from local_stack.redshift.sql_tokens import IDENT, NUMBER, PUNCT, STRING, WORD, Token, tokenize

_SECRET_KEYWORDS = ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN", "CREDENTIALS", "MASTER_SYMMETRIC_KEY")


def redact(sql: str) -> str:
    """`sql` with every credential value replaced by '***'; IAM_ROLE ARNs stay visible.

    Works on any text, broken COPYs included: the string literals after ACCESS_KEY_ID,
    SECRET_ACCESS_KEY, SESSION_TOKEN, CREDENTIALS [AS] or MASTER_SYMMETRIC_KEY are masked, and in a
    COPY also any unquoted value there, up to the next COPY option keyword. A CREDENTIALS string
    holding only `aws_iam_role=...` is kept. Comments are not searched.
    """
    out, last = [], 0
    for start, end in _secret_spans(sql):
        out += [sql[last:start], "'***'"]
        last = end
    out.append(sql[last:])
    return "".join(out)


def secret_values(sql: str) -> list[str]:
    """The credential values of `sql` as `redact` finds them (literal contents and unquoted text)."""
    values = []
    for start, end in _secret_spans(sql):
        values += [t.value for t in tokenize(sql[start:end]) if t.kind != PUNCT and t.value] or [sql[start:end]]
    parts = [part.partition("=")[2].strip() for value in values for part in value.split(";")]  # CREDENTIALS
    return sorted({*values, *filter(None, parts)}, key=len, reverse=True)


def _secret_spans(sql: str) -> list[tuple[int, int]]:
    tokens = tokenize(sql)
    in_copy = bool(tokens) and tokens[0].is_word("COPY")
    spans = []
    for i, token in enumerate(tokens):
        if token.kind != WORD or token.upper not in _SECRET_KEYWORDS:
            continue
        j = i + 1 + (i + 1 < len(tokens) and tokens[i + 1].is_word("AS"))
        first = j
        while j < len(tokens) and (tokens[j].kind == STRING or in_copy and _maybe_secret(tokens[j])):
            j += 1
        if j > first and not (token.upper == "CREDENTIALS" and j == first + 1 and _role_only(tokens[first])):
            spans.append((tokens[first].start, tokens[j - 1].end))  # the values, and the text between them
    return spans


def _maybe_secret(token: Token) -> bool:
    """An unquoted value after a credential keyword in a broken COPY: anything but the next option."""
    if token.kind == WORD:
        return token.upper not in OPTION_KEYWORDS and token.upper != "FROM"
    return token.kind in (IDENT, NUMBER) or token.kind == PUNCT and token.value not in ";()"


def _role_only(token: Token) -> bool:
    parts = [p.strip() for p in token.value.split(";") if p.strip()]
    return (
        token.closed
        and token.kind == STRING
        and len(parts) == 1
        and (parts[0].lower().startswith("aws_iam_role=") and "=" not in parts[0].partition("=")[2])
    )
