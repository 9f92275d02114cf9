"""Credential values masked out of SQL text, for the emulator's statement log, its query history and error messages."""

from __future__ import annotations

from local_stack.redshift.copy_statement import OPTION_KEYWORDS
from local_stack.redshift.sql_tokens import IDENT, NUMBER, PUNCT, STRING, WORD, Token, tokenize

_SECRET_KEYWORDS = ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN", "CREDENTIALS", "MASTER_SYMMETRIC_KEY")
_NOT_A_PASSWORD = ("DISABLE", "NULL")  # PASSWORD DISABLE (Redshift), PASSWORD NULL (PostgreSQL)
# Shorter values are masked in the statement but not searched for in other text: no AWS key is
# this short (an access key id has at least 16 characters), and a short value such as 'x' would
# garble every word of an error message that happens to contain it.
MIN_SECRET_LENGTH = 8


def redact(sql: str) -> str:
    """`sql` with every credential value replaced by '***'; IAM_ROLE ARNs stay visible.

    Works on any text, broken COPYs included: the string literals after ACCESS_KEY_ID,
    SECRET_ACCESS_KEY, SESSION_TOKEN, CREDENTIALS [AS], MASTER_SYMMETRIC_KEY or PASSWORD are
    masked, and in a COPY also any unquoted value there, up to the next COPY option keyword; in a
    CREATE/ALTER USER/ROLE an unquoted password too. A CREDENTIALS string holding only
    `aws_iam_role=...` is kept. Comments, and statements inside string literals, are not searched.
    """
    out, last = [], 0
    for start, end in _secret_spans(sql):
        out += [sql[last:start], "'***'"]
        last = end
    out.append(sql[last:])
    return "".join(out)


def secret_values(sql: str) -> list[str]:
    """The credential values of `sql` as `redact` finds them, of at least MIN_SECRET_LENGTH characters,
    longest first: the strings to mask wherever they appear in another text (an error message)."""
    values = []
    for start, end in _secret_spans(sql):
        values += [t.value for t in tokenize(sql[start:end]) if t.kind != PUNCT and t.value] + [sql[start:end]]
    parts = [part.partition("=")[2].strip() for value in values for part in value.split(";")]  # CREDENTIALS
    found = {value for value in (*values, *parts) if len(value) >= MIN_SECRET_LENGTH}
    return sorted(found, key=len, reverse=True)


def _secret_spans(sql: str) -> list[tuple[int, int]]:
    tokens = tokenize(sql)
    in_copy = bool(tokens) and tokens[0].is_word("COPY")
    for_role = _is_user_or_role_statement(tokens)
    spans = []
    for i, token in enumerate(tokens):
        if token.kind != WORD:
            continue
        if token.upper == "PASSWORD":
            span = _password_span(tokens, i + 1, for_role)
            if span:
                spans.append(span)
            continue
        if token.upper not in _SECRET_KEYWORDS:
            continue
        j = i + 1 + (i + 1 < len(tokens) and tokens[i + 1].is_word("AS"))
        first = j
        while j < len(tokens) and (tokens[j].kind == STRING or in_copy and _maybe_secret(tokens[j])):
            j += 1
        if j > first and not (token.upper == "CREDENTIALS" and j == first + 1 and _role_only(tokens[first])):
            spans.append((tokens[first].start, tokens[j - 1].end))  # the values, and the text between them
    return _merged(spans)


def _password_span(tokens: list[Token], i: int, for_role: bool) -> tuple[int, int] | None:
    """The password after PASSWORD at `tokens[i]`: string literals anywhere (CREATE USER, a user
    mapping's OPTIONS; every literal of a run, as a broken statement may have several); in a user or
    role statement also an unquoted one, every token written against the next (`PASSWORD Secret-1!`).
    None for PASSWORD DISABLE or NULL, or no value."""
    if i >= len(tokens):
        return None
    token = tokens[i]
    if token.kind == STRING:
        j = i + 1
        while j < len(tokens) and tokens[j].kind == STRING:
            j += 1
        return token.start, tokens[j - 1].end
    if not for_role or token.is_word(*_NOT_A_PASSWORD) or token.kind == PUNCT and token.value in ";,()":
        return None
    j = i + 1
    while j < len(tokens) and tokens[j].start == tokens[j - 1].end and not tokens[j].is_punct(";"):
        j += 1
    return token.start, tokens[j - 1].end


def _is_user_or_role_statement(tokens: list[Token]) -> bool:
    """CREATE/ALTER USER or ROLE, not USER MAPPING (whose OPTIONS take only a quoted password)."""
    head = [t.upper for t in tokens[:3]]
    return head[:1] in (["CREATE"], ["ALTER"]) and head[1:2] in (["USER"], ["ROLE"]) and head[2:3] != ["MAPPING"]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` in order, overlapping ones joined (a PASSWORD value inside a broken COPY's credential run)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


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
