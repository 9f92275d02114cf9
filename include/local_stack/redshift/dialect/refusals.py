"""PostgreSQL-only SQL that Amazon Redshift refuses, refused here too: it must not pass locally and fail on a cluster.

Each refusal names the construct, says it is PostgreSQL's, and carries the SQLSTATE Redshift
gives: 42601 where Redshift's parser has no such syntax, 42704 for a type it lacks, 42883 for
a function it lacks, 0A000 for a feature it documents as unsupported.
https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html
https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-functions.html
https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-datatypes.html
"""

from __future__ import annotations

from local_stack.redshift.sql_tokens import IDENT, PUNCT, WORD, StatementError, Token

# Functions that Redshift does not have at all (c_unsupported-postgresql-functions.html).
UNSUPPORTED_FUNCTIONS = frozenset(
    {
        "STRING_AGG", "ARRAY_AGG", "EVERY", "XMLAGG", "CORR", "COVAR_POP", "COVAR_SAMP", "REGR_AVGX",
        "REGR_AVGY", "REGR_COUNT", "REGR_INTERCEPT", "REGR_R2", "REGR_SLOPE", "REGR_SXX", "REGR_SXY",
        "REGR_SYY", "CLOCK_TIMESTAMP", "JUSTIFY_DAYS", "JUSTIFY_HOURS", "JUSTIFY_INTERVAL", "PG_SLEEP",
        "TRANSACTION_TIMESTAMP", "DIV", "SETSEED", "WIDTH_BUCKET", "GENERATE_SUBSCRIPTS", "BIT_LENGTH",
        "OVERLAY", "CONVERT_FROM", "CONVERT_TO", "ENCODE", "FORMAT", "QUOTE_NULLABLE", "REGEXP_MATCHES",
        "REGEXP_SPLIT_TO_ARRAY", "REGEXP_SPLIT_TO_TABLE", "UNNEST", "ARRAY_LENGTH", "ARRAY_TO_STRING",
        "ARRAY_APPEND", "ARRAY_POSITION", "CARDINALITY", "STRING_TO_ARRAY", "TO_JSON", "TO_JSONB",
        "ROW_TO_JSON", "JSON_AGG", "JSONB_AGG", "JSON_BUILD_OBJECT", "JSONB_BUILD_OBJECT", "JSON_OBJECT_AGG",
        "JSONB_OBJECT_AGG", "PG_READ_FILE", "PG_READ_BINARY_FILE", "PG_LS_DIR", "PG_STAT_FILE",
        "PG_ADVISORY_LOCK", "PG_ADVISORY_XACT_LOCK", "PG_TRY_ADVISORY_LOCK", "PG_ADVISORY_UNLOCK",
        "NEXTVAL", "CURRVAL", "SETVAL", "LO_IMPORT", "LO_EXPORT", "DBLINK", "TO_TSVECTOR", "TO_TSQUERY",
        "PLAINTO_TSQUERY", "TXID_CURRENT", "PG_CURRENT_XACT_ID", "GEN_RANDOM_UUID", "UUID_GENERATE_V4",
    }
)  # fmt: skip
# Set-returning functions that run on Redshift's leader node only: allowed without a table, refused with one.
LEADER_NODE_ONLY = frozenset({"GENERATE_SERIES"})
# Types Redshift does not have (c_unsupported-postgresql-datatypes.html), as written in a cast or a column.
UNSUPPORTED_TYPES = frozenset(
    {
        "JSON", "JSONB", "SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL4", "SERIAL8", "SERIAL2", "MONEY", "UUID",
        "BYTEA", "XML", "INET", "CIDR", "MACADDR", "HSTORE", "TSVECTOR", "TSQUERY", "INT4RANGE", "INT8RANGE",
        "NUMRANGE", "TSRANGE", "TSTZRANGE", "DATERANGE", "POINT", "LINE", "LSEG", "BOX", "PATH", "POLYGON",
        "CIRCLE", "BIT", "VARBIT", "TXID_SNAPSHOT",
    }
)  # fmt: skip
_UNSUPPORTED_STATEMENTS = {
    ("CREATE", "INDEX"): "CREATE INDEX (Redshift has no indexes: it sorts tables by their SORTKEY)",
    ("CREATE", "UNIQUE"): "CREATE UNIQUE INDEX (Redshift has no indexes)",
    ("CREATE", "SEQUENCE"): "CREATE SEQUENCE (Redshift has no sequences: use an IDENTITY column)",
    ("CREATE", "TRIGGER"): "CREATE TRIGGER (Redshift has no triggers)",
    ("CREATE", "EXTENSION"): "CREATE EXTENSION",
    ("CREATE", "TYPE"): "CREATE TYPE",
    ("CREATE", "DOMAIN"): "CREATE DOMAIN",
    ("CREATE", "TABLESPACE"): "CREATE TABLESPACE",
    ("LISTEN",): "LISTEN",
    ("NOTIFY",): "NOTIFY",
}


def refuse_postgresql_only(tokens: list[Token]) -> None:
    """Raise StatementError for the first PostgreSQL-only construct in the statement's tokens."""
    if not tokens:
        return
    for words, what in _UNSUPPORTED_STATEMENTS.items():
        if len(tokens) >= len(words) and all(tokens[k].is_word(w) for k, w in enumerate(words)):
            raise _unsupported(what)
    if tokens[0].is_word("CREATE") and any(t.is_word("TABLE") for t in tokens[1:5]):
        _refuse_table_options(tokens)
    has_from = any(t.is_word("FROM") for t in tokens)
    depth_is_cte: list[bool] = []
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i > 0 else None
        if token.kind == PUNCT:
            if token.value == "(":
                # ( INSERT|UPDATE|DELETE right after "AS" in a WITH: a data-modifying CTE.
                depth_is_cte.append(bool(prev and prev.is_word("AS")))
            elif token.value == ")" and depth_is_cte:
                depth_is_cte.pop()
            elif token.value == "[" and nxt is not None and nxt.is_punct("]"):
                raise _syntax("[", "an array type (type[])")
            continue
        if token.kind != WORD:
            continue
        word = token.upper
        after_dot = prev is not None and prev.is_punct(".")
        if word == "ON" and nxt is not None and nxt.is_word("CONFLICT"):
            raise _syntax("ON", "INSERT … ON CONFLICT (an upsert: use MERGE, or DELETE … USING then INSERT)")
        if word == "RETURNING" and not after_dot:
            raise _syntax("RETURNING", "INSERT/UPDATE/DELETE … RETURNING")
        if word in ("INSERT", "UPDATE", "DELETE") and depth_is_cte and depth_is_cte[-1] and prev and prev.is_punct("("):
            raise _syntax(token.value, "a data-modifying statement in WITH")
        if word == "VALUES" and prev is not None and prev.is_punct("("):
            raise _unsupported("a VALUES list used as a table (FROM (VALUES …))")
        if word == "INTERVAL" and _is_column_type(tokens, i):
            raise StatementError(
                f'Column "{tokens[i - 1].value}" has unsupported type "interval"',
                "0A000",
                detail="https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-datatypes.html",
            )
        if word == "ARRAY" and nxt is not None and nxt.is_punct("["):
            raise _unsupported("array constructors (ARRAY[…])")
        if word == "DISTINCT" and nxt is not None and nxt.is_word("ON"):
            raise _unsupported("SELECT DISTINCT ON")
        if (
            word == "FILTER"
            and nxt is not None
            and nxt.is_punct("(")
            and i + 2 < len(tokens)
            and tokens[i + 2].is_word("WHERE")
        ):
            raise _syntax("(", "an aggregate's FILTER (WHERE …) clause (use CASE inside the aggregate)")
        if word == "IS" and _is_distinct_from(tokens, i):
            raise _unsupported("IS [NOT] DISTINCT FROM (compare with = and IS NULL, or use NVL)")
        is_call = nxt is not None and nxt.is_punct("(")
        if is_call and word in UNSUPPORTED_FUNCTIONS and not after_dot:
            raise StatementError(
                f"function {token.value.lower()} does not exist in Amazon Redshift",
                "42883",
                detail="A PostgreSQL function that Redshift does not support "
                "(https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-functions.html).",
            )
        if is_call and word in LEADER_NODE_ONLY and has_from:
            raise StatementError(
                "Specified types or functions (one per INFO message) not supported on Redshift tables.",
                "0A000",
                detail=f"{token.value.lower()}() runs on Redshift's leader node only, never in a query that "
                "reads a table.",
            )
        if word in UNSUPPORTED_TYPES and _is_type_position(tokens, i):
            raise StatementError(
                f'type "{token.value.lower()}" does not exist in Amazon Redshift',
                "42704",
                detail="A PostgreSQL data type that Redshift does not support "
                "(https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-datatypes.html).",
            )


def _is_distinct_from(tokens: list[Token], i: int) -> bool:
    rest = tokens[i + 1 : i + 4]
    words = [t.upper for t in rest]
    return words[:2] == ["DISTINCT", "FROM"] or words[:3] == ["NOT", "DISTINCT", "FROM"]


def _refuse_table_options(tokens: list[Token]) -> None:
    """CREATE TABLE's PostgreSQL-only clauses outside its parentheses: INHERITS, PARTITION BY and PARTITION OF."""
    depth = 0
    for i, token in enumerate(tokens):
        depth += token.is_punct("(") - token.is_punct(")")
        if depth != 0 or token.kind != WORD:
            continue
        if token.is_word("AS"):
            return  # CREATE TABLE … AS SELECT: the query's own words follow
        if token.is_word("INHERITS"):
            raise _unsupported("table inheritance (CREATE TABLE … INHERITS)")
        if token.is_word("PARTITION") and i + 1 < len(tokens) and tokens[i + 1].is_word("BY", "OF"):
            raise _unsupported(f"table partitioning (CREATE TABLE … PARTITION {tokens[i + 1].upper})")


def _is_column_type(tokens: list[Token], i: int) -> bool:
    """True where the word at `i` follows a column name in a CREATE or ALTER TABLE's column definition."""
    return (
        tokens[0].is_word("CREATE", "ALTER")
        and i >= 2
        and tokens[i - 1].kind in (WORD, IDENT)
        and not tokens[i - 1].is_word("COLUMN", "ADD")  # ADD COLUMN path …: `path` is the name, not a type
        and (tokens[i - 2].is_punct("(") or tokens[i - 2].is_punct(",") or tokens[i - 2].is_word("COLUMN", "ADD"))
    )


def _is_type_position(tokens: list[Token], i: int) -> bool:
    """True where a word names a type: after `::`, after `AS` inside CAST(, or after a column name in a
    CREATE TABLE's column list."""
    if i >= 2 and tokens[i - 1].is_punct(":") and tokens[i - 2].is_punct(":"):
        return True
    if i >= 1 and tokens[i - 1].is_word("AS"):
        depth, j = 0, i - 2
        while j >= 0:
            if tokens[j].is_punct(")"):
                depth += 1
            elif tokens[j].is_punct("("):
                if depth == 0:
                    return j >= 1 and tokens[j - 1].is_word("CAST")
                depth -= 1
            j -= 1
        return False
    return _is_column_type(tokens, i)


def _syntax(near: str, what: str) -> StatementError:
    return StatementError(
        f'syntax error at or near "{near}"',
        "42601",
        detail=f"{what} is PostgreSQL's; Amazon Redshift has no such syntax.",
    )


def _unsupported(what: str) -> StatementError:
    return StatementError(
        f"{what} is not supported by Amazon Redshift",
        "0A000",
        detail="https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html",
    )
