"""Redshift SQL rewritten for PostgreSQL, span by span, keeping the rest of the client's text as written.

What a function in the catalog (functions.sql) can do is left to it; this module rewrites only what
a function cannot express:
- date parts written as words or abbreviations: EXTRACT(dayofweek FROM x), DATE_PART(dow, x),
  DATEPART, DATEADD(day, 1, x), DATEDIFF(week, a, b), DATE_TRUNC('w', x);
- SYSDATE (a word, not a call), NVL (COALESCE), VERSION() in Redshift's form;
- SELECT TOP n, LISTAGG(... ) WITHIN GROUP (ORDER BY ...) [OVER (...)];
- PERCENTILE_CONT/PERCENTILE_DISC(p) WITHIN GROUP (ORDER BY x) OVER (...) as window aggregates;
- AVG (an integer's average is a BIGINT), TO_TIMESTAMP (fields roll over), CONVERT(type, x);
- ANALYZE COMPRESSION and VACUUM with Redshift's options;
- DISTINCT over a declared key, which Redshift's planner may skip (`trusted_keys`).
Nested constructs are rewritten too: an edit's replacement may render a span of the statement
with the edits inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from local_stack.redshift.constraints import RELATION_REWRITES
from local_stack.redshift.dialect.dateparts import canonical
from local_stack.redshift.dialect.trusted_keys import rewrite_distinct
from local_stack.redshift.sql_tokens import IDENT, NUMBER, STRING, WORD, StatementError, Token

# SELECT version() on a cluster (https://docs.aws.amazon.com/redshift/latest/dg/r_VERSION.html):
# the PostgreSQL 8.0.2 prefix is what drivers and SQL tools parse.
REDSHIFT_VERSION = (
    "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), "
    "Redshift 1.0.12103"
)
_DATE_FUNCTIONS = {
    "EXTRACT": "redshift_extract",
    "DATE_PART": "redshift_date_part",
    "DATEPART": "redshift_date_part",
    "PGDATE_PART": "redshift_date_part",
    "DATEADD": "redshift_dateadd",
    "DATEDIFF": "redshift_datediff",
    "DATE_TRUNC": "redshift_date_trunc",
}
_SET_OPERATORS = ("UNION", "INTERSECT", "EXCEPT", "MINUS")
_VACUUM_OPTIONS = ("FULL", "SORT", "DELETE", "ONLY", "REINDEX", "RECLUSTER")
# Functions the catalog has under another name, because PostgreSQL's own (in pg_catalog, which is
# searched first) would answer otherwise (functions.sql).
_RENAMED_FUNCTIONS = {"AVG": "redshift_avg", "TO_TIMESTAMP": "redshift_to_timestamp"}
_PERCENTILES = {"PERCENTILE_CONT": "redshift_percentile_cont", "PERCENTILE_DISC": "redshift_percentile_disc"}
# CONVERT(type, x)'s type names that PostgreSQL spells otherwise (the CONVERT page converts to DATETIME).
_CONVERT_TYPES = {"DATETIME": "timestamp", "NVARCHAR": "varchar", "NCHAR": "char"}
_WHOLE_PARTITION = " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"


@dataclass
class _Edit:
    start: int
    end: int
    text: str | Callable[[], str]


@dataclass
class Statement:
    """One statement's text and tokens, and the edits that make it PostgreSQL."""

    sql: str
    tokens: list[Token]
    edits: list[_Edit] = field(default_factory=list)
    closing: dict[int, int] = field(default_factory=dict)  # index of "(" -> index of its ")"

    def __post_init__(self) -> None:
        stack: list[int] = []
        for i, token in enumerate(self.tokens):
            if token.is_punct("("):
                stack.append(i)
            elif token.is_punct(")") and stack:
                self.closing[stack.pop()] = i

    def replace(self, first: int, last: int, text: str | Callable[[], str]) -> None:
        """Replace tokens first..last (inclusive) with `text`."""
        self.edits.append(_Edit(self.tokens[first].start, self.tokens[last].end, text))

    def insert(self, at: int, text: str | Callable[[], str]) -> None:
        self.edits.append(_Edit(at, at, text))

    def remove_after(self, before: int, last: int) -> None:
        """Remove tokens before+1..last and the space before them."""
        self.edits.append(_Edit(self.tokens[before].end, self.tokens[last].end, ""))

    def arguments(self, open_: int) -> list[tuple[int, int]]:
        """The (start, end) offsets of each top-level argument inside the parenthesis at token `open_`."""
        close = self.closing[open_]
        spans, depth, begin = [], 0, open_ + 1
        for j in range(open_ + 1, close):
            token = self.tokens[j]
            if token.is_punct("("):
                depth += 1
            elif token.is_punct(")"):
                depth -= 1
            elif token.is_punct(",") and depth == 0:
                spans.append((begin, j - 1))
                begin = j + 1
        if begin <= close - 1:
            spans.append((begin, close - 1))
        return [(self.tokens[a].start, self.tokens[b].end) for a, b in spans]

    def render(self, start: int = 0, end: int | None = None) -> str:
        """The text from `start` to `end` with the edits inside it applied (an edit inside another's span is the
        outer one's business)."""
        end = len(self.sql) if end is None else end
        out, at = [], start
        for edit in sorted(self.edits, key=lambda e: (e.start, e.end)):
            if edit.start < at or edit.end > end or edit.start < start:
                continue
            out.append(self.sql[at : edit.start])
            out.append(edit.text() if callable(edit.text) else edit.text)
            at = edit.end
        out.append(self.sql[at:end])
        return "".join(out)


def rewrite(statement: Statement) -> None:
    """Record the edits that make `statement` PostgreSQL."""
    tokens = statement.tokens
    first = tokens[0].upper
    single = not any(t.is_punct(";") for t in tokens)
    if first == "ANALYZE" and single and len(tokens) > 1 and tokens[1].is_word("COMPRESSION"):
        statement.replace(0, len(tokens) - 1, _analyze_compression(tokens[2:]))
        return
    if first == "VACUUM" and single:
        statement.replace(0, len(tokens) - 1, _vacuum(statement))
        return
    for i, token in enumerate(tokens):
        if token.is_punct("|") and i + 1 < len(tokens) and tokens[i + 1].is_punct("|"):
            _concatenation(statement, i)
            continue
        if token.is_punct("#") and i + 1 < len(tokens) and tokens[i + 1].start == token.end:
            _temporary_name(statement, i)
            continue
        if token.kind != WORD:
            continue
        word = token.upper
        after_dot = i > 0 and tokens[i - 1].is_punct(".")
        relation = _relation_rewrite(tokens, i, after_dot)
        if relation is not None:
            name_start, replacement = relation
            statement.replace(name_start, i, replacement)
            continue
        is_call = i + 1 < len(tokens) and tokens[i + 1].is_punct("(")
        if word in _DATE_FUNCTIONS and is_call and not after_dot:
            _date_function(statement, i, word)
        elif word == "SYSDATE" and not is_call and not after_dot:
            # The start of the current transaction, in the session's time zone (UTC), without one.
            statement.replace(i, i, "LOCALTIMESTAMP")
        elif word == "NVL" and is_call and not after_dot:
            statement.replace(i, i, "COALESCE")
        elif word == "VERSION" and is_call and i + 2 < len(tokens) and tokens[i + 2].is_punct(")"):
            qualified = after_dot and i >= 2 and tokens[i - 2].is_word("PG_CATALOG")
            statement.replace(i - 2 if qualified else i, i + 2, "'" + REDSHIFT_VERSION + "'::varchar")
        elif word == "TOP" and i > 0 and tokens[i - 1].is_word("SELECT", "DISTINCT", "ALL"):
            _top(statement, i)
        elif word == "LISTAGG" and is_call and not after_dot:
            _listagg(statement, i)
        elif word in ("NVL2", "DECODE") and is_call and not after_dot and i + 1 in statement.closing:
            _conditional(statement, i, word)
        elif word in _RENAMED_FUNCTIONS and is_call and not after_dot and i + 1 in statement.closing:
            if word != "TO_TIMESTAMP" or len(statement.arguments(i + 1)) in (2, 3):
                statement.replace(i, i, _RENAMED_FUNCTIONS[word])
        elif word in _PERCENTILES and is_call and not after_dot and i + 1 in statement.closing:
            _percentile_window(statement, i, word)
        elif word == "CONVERT" and is_call and not after_dot and i + 1 in statement.closing:
            _convert(statement, i)
        elif word == "DISTINCT":
            rewrite_distinct(statement, i)


def _relation_rewrite(tokens: list[Token], i: int, after_dot: bool) -> tuple[int, str] | None:
    """A catalog relation the emulator answers with a view of its own (recorded constraints): the index of the
    name's first token and the view's name."""
    name = tokens[i].value.lower()
    if after_dot:
        schema = tokens[i - 2].value.lower() if i >= 2 and tokens[i - 2].kind in (WORD, IDENT) else ""
        view = RELATION_REWRITES.get((schema, name))
        return (i - 2, view) if view else None
    view = RELATION_REWRITES.get(("pg_catalog", name))  # pg_catalog is on every search path
    return (i, view) if view and not (i + 1 < len(tokens) and tokens[i + 1].is_punct("(")) else None


def _temporary_name(statement: Statement, i: int) -> None:
    """`#name`, Redshift's temporary table: a temporary table named "#name" (the # kept, so that it never
    clashes with a permanent table of the same name in one statement, as in the provider's UPSERT).

    https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html (table_name: a name that
    begins with # is a temporary table)
    """
    tokens = statement.tokens
    name = tokens[i + 1]
    if name.kind not in (WORD, IDENT):
        return
    text = "#" + (name.value if name.kind == IDENT else name.value.lower())
    statement.replace(i, i + 1, '"' + text.replace('"', '""') + '"')
    # CREATE TABLE [IF NOT EXISTS] #t and SELECT ... INTO #t create it as TEMP.
    j = i - 1
    while j >= 0 and tokens[j].is_word("IF", "NOT", "EXISTS"):
        j -= 1
    if j >= 1 and tokens[j].is_word("TABLE") and tokens[j - 1].is_word("CREATE"):
        statement.replace(j, j, "TEMP TABLE")
    elif j >= 0 and tokens[j].is_word("INTO") and tokens[0].is_word("SELECT", "WITH"):
        statement.replace(j, j, "INTO TEMP")


def _concatenation(statement: Statement, i: int) -> None:
    """A string literal or parameter beside `||` becomes a VARCHAR.

    The catalog has `||` for two operands that are not text (Redshift converts them to strings,
    functions.sql); without the cast PostgreSQL would read an untyped literal beside an INTEGER as
    an INTEGER too ('User' || id).
    """
    tokens = statement.tokens
    if tokens[i].end != tokens[i + 1].start:
        return  # "| |": two operators, not a concatenation
    left = tokens[i - 1] if i > 0 else None
    right = tokens[i + 2] if i + 2 < len(tokens) else None
    after_concatenation = i >= 3 and tokens[i - 2].is_punct("|") and tokens[i - 3].is_punct("|")
    if left is not None and _untyped(left) and not (i >= 2 and tokens[i - 2].is_punct(":")) and not after_concatenation:
        statement.insert(left.end, "::varchar")  # (a literal between two || is cast once, by the first)
    if right is not None and _untyped(right) and not (i + 3 < len(tokens) and tokens[i + 3].is_punct(":")):
        statement.insert(right.end, "::varchar")


def _untyped(token: Token) -> bool:
    return token.kind == STRING or (token.kind == NUMBER and token.value.startswith("$"))


def _date_function(statement: Statement, i: int, word: str) -> None:
    """NAME ( part <, | FROM> ...  ->  redshift_name('canonical', ..."""
    tokens = statement.tokens
    if i + 3 >= len(tokens):
        return
    part, separator = tokens[i + 2], tokens[i + 3]
    expected = "FROM" if word == "EXTRACT" else ","
    if not (separator.is_word("FROM") if expected == "FROM" else separator.is_punct(",")):
        return  # not the date-part form (an expression as the part): PostgreSQL's own function
    if part.kind not in (WORD, STRING):
        return
    name = canonical(part.value, "DATEPART" if word == "DATE_PART" else word)
    statement.replace(i, i + 3, f"{_DATE_FUNCTIONS[word]}('{name}',")


def _conditional(statement: Statement, i: int, word: str) -> None:
    """NVL2(e, a, b) and DECODE(e, search, result [, ...] [, default]) as CASE expressions, which type their
    branches as Redshift does (an untyped NULL or string literal included).

    https://docs.aws.amazon.com/redshift/latest/dg/r_NVL2.html
    https://docs.aws.amazon.com/redshift/latest/dg/r_DECODE_expression.html (a NULL search matches a NULL)
    """
    args = statement.arguments(i + 1)
    if word == "NVL2" and len(args) != 3:
        raise StatementError(f"function nvl2 takes 3 arguments, not {len(args)}", "42883")
    if word == "DECODE" and len(args) < 3:
        return  # PostgreSQL's decode(text, text): refused or not, it is not Redshift's DECODE
    part = [lambda a=a: "(" + statement.render(*a) + ")" for a in args]
    if word == "NVL2":
        # The type of the not-null value: a string literal makes it VARCHAR, whatever the other value is.
        cast = "::varchar" if _is_string_literal(statement, args[1]) else ""
        text = lambda: (  # noqa: E731
            f"(CASE WHEN {part[0]()} IS NOT NULL THEN {part[1]()}{cast} ELSE {part[2]()}{cast} END)"
        )
    else:

        def text() -> str:
            expression = part[0]()
            branches = [
                f"WHEN {expression} IS NOT DISTINCT FROM {part[k]()} THEN {part[k + 1]()}"
                for k in range(1, len(args) - 1, 2)
            ]
            otherwise = part[-1]() if len(args) % 2 == 0 else "NULL"
            return f"(CASE {' '.join(branches)} ELSE {otherwise} END)"

    statement.replace(i, statement.closing[i + 1], text)


def _is_string_literal(statement: Statement, span: tuple[int, int]) -> bool:
    inside = [t for t in statement.tokens if span[0] <= t.start and t.end <= span[1]]
    return len(inside) == 1 and inside[0].kind == STRING


def _convert(statement: Statement, i: int) -> None:
    """CONVERT(type, expression)  ->  CAST((expression) AS type); PostgreSQL's three-argument CONVERT is not
    Redshift's. https://docs.aws.amazon.com/redshift/latest/dg/r_CONVERT_function.html"""
    args = statement.arguments(i + 1)
    if len(args) != 2:
        return
    type_tokens = [t for t in statement.tokens if args[0][0] <= t.start and t.end <= args[0][1]]
    if not type_tokens or type_tokens[0].kind != WORD:
        return
    renamed = _CONVERT_TYPES.get(type_tokens[0].upper)
    type_text = statement.sql[args[0][0] : args[0][1]]
    if renamed is not None:
        type_text = renamed + statement.sql[type_tokens[0].end : args[0][1]]
    value = args[1]
    statement.replace(i, statement.closing[i + 1], lambda: f"CAST(({statement.render(*value)}) AS {type_text})")


def _window_order(statement: Statement, over: int, order_by: Callable[[], str], what: str) -> None:
    """Put the WITHIN GROUP ordering into the OVER clause at token `over`, with a frame of the whole partition,
    so that a window aggregate sees the partition's rows in that order (Redshift allows only PARTITION BY there)."""
    tokens = statement.tokens
    open_ = over + 1
    close = statement.closing.get(open_) if open_ < len(tokens) and tokens[open_].is_punct("(") else None
    if close is None:
        raise StatementError(
            f"{what} … OVER with a named window is not supported by the local Redshift emulator", "0A000"
        )
    depth = 0
    for j in range(open_ + 1, close):
        depth += tokens[j].is_punct("(") - tokens[j].is_punct(")")
        if depth == 0 and tokens[j].is_word("ORDER", "ROWS", "RANGE", "GROUPS"):
            raise StatementError(
                f"{what}: the OVER clause cannot contain a window ordering or window frame specification", "0A000"
            )
    space = "" if close == open_ + 1 else " "
    statement.insert(tokens[close].start, lambda: space + "ORDER BY " + order_by() + _WHOLE_PARTITION)


def _percentile_window(statement: Statement, i: int, word: str) -> None:
    """PERCENTILE_CONT|DISC(p) WITHIN GROUP (ORDER BY x) OVER ([PARTITION BY ...])  ->
    redshift_percentile_cont|disc(p, x) OVER ([PARTITION BY ...] ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND
    UNBOUNDED FOLLOWING), an aggregate of the values in order (functions.sql). Without OVER it is PostgreSQL's own.

    https://docs.aws.amazon.com/redshift/latest/dg/r_WF_PERCENTILE_CONT.html
    https://docs.aws.amazon.com/redshift/latest/dg/r_WF_PERCENTILE_DISC.html
    """
    tokens = statement.tokens
    close = statement.closing[i + 1]
    after = close + 1
    if not (after + 2 < len(tokens) and tokens[after].is_word("WITHIN") and tokens[after + 1].is_word("GROUP")):
        return
    group_open = after + 2
    group_close = statement.closing.get(group_open)
    if group_close is None or group_close + 1 >= len(tokens) or not tokens[group_close + 1].is_word("OVER"):
        return
    if not tokens[group_open + 1].is_word("ORDER") or not tokens[group_open + 2].is_word("BY"):
        return
    order_start, order_end = tokens[group_open + 3].start, tokens[group_close].start
    # The value: the ORDER BY expression without ASC/DESC/NULLS FIRST|LAST.
    last = group_close - 1
    while last > group_open + 3 and tokens[last].is_word("ASC", "DESC", "NULLS", "FIRST", "LAST"):
        last -= 1
    value_end = tokens[last].end
    fraction = statement.arguments(i + 1)
    if len(fraction) != 1:
        return
    statement.replace(
        i,
        close,
        lambda: f"{_PERCENTILES[word]}(({statement.render(*fraction[0])}), {statement.render(order_start, value_end)})",
    )
    statement.remove_after(close, group_close)
    _window_order(statement, group_close + 1, lambda: statement.render(order_start, order_end), word)


def _top(statement: Statement, i: int) -> None:
    """SELECT TOP n ...  ->  SELECT ... LIMIT n, at the end of that SELECT (its parenthesis or the statement)."""
    tokens = statement.tokens
    if i + 1 >= len(tokens) or tokens[i + 1].kind != NUMBER:
        return
    depth, j = 0, i + 2
    while j < len(tokens):
        token = tokens[j]
        if token.is_punct("("):
            depth += 1
        elif token.is_punct(")"):
            if depth == 0:
                break
            depth -= 1
        elif token.is_punct(";") and depth == 0:
            break
        elif depth == 0 and token.upper in _SET_OPERATORS:
            raise StatementError(
                "SELECT TOP in a set operation (UNION, INTERSECT, EXCEPT) is not supported by the local Redshift "
                "emulator; put the SELECT TOP in parentheses",
                "0A000",
            )
        j += 1
    at = tokens[j].start if j < len(tokens) else tokens[-1].end
    statement.replace(i, i + 1, "")
    statement.insert(at, f" LIMIT {tokens[i + 1].value}")


def _listagg(statement: Statement, i: int) -> None:
    """LISTAGG([DISTINCT] expr [, 'delimiter']) [WITHIN GROUP (ORDER BY ...)] [OVER (...)]  ->  string_agg(...),
    the window form with the ordering in its OVER clause.

    https://docs.aws.amazon.com/redshift/latest/dg/r_LISTAGG.html
    https://docs.aws.amazon.com/redshift/latest/dg/r_WF_LISTAGG.html
    """
    tokens = statement.tokens
    open_ = i + 1
    close = statement.closing.get(open_)
    if close is None:
        return
    first = open_ + 1
    distinct = tokens[first].is_word("DISTINCT")
    first += distinct
    depth, comma = 0, None
    for j in range(first, close):
        if tokens[j].is_punct("("):
            depth += 1
        elif tokens[j].is_punct(")"):
            depth -= 1
        elif tokens[j].is_punct(",") and depth == 0:
            comma = j
            break
    value_end = tokens[comma].start if comma is not None else tokens[close].start
    order_by: Callable[[], str] | None = None
    after = close + 1
    if after + 2 < len(tokens) and tokens[after].is_word("WITHIN") and tokens[after + 1].is_word("GROUP"):
        group_open = after + 2
        group_close = statement.closing.get(group_open)
        if group_close is None:
            return
        if not (tokens[group_open + 1].is_word("ORDER") and tokens[group_open + 2].is_word("BY")):
            return
        inner_start, inner_end = tokens[group_open + 1].start, tokens[group_close].start
        statement.remove_after(close, group_close)
        if group_close + 1 < len(tokens) and tokens[group_close + 1].is_word("OVER"):
            # The window form: the ordering goes into the OVER clause (an aggregate's own ORDER BY is not
            # allowed in a window), and the frame is the whole partition.
            _refuse_distinct_window(distinct)
            order_start = tokens[group_open + 3].start
            _window_order(statement, group_close + 1, lambda: statement.render(order_start, inner_end), "LISTAGG")
        else:
            order_by = lambda: " " + statement.render(inner_start, inner_end)  # noqa: E731
    elif after < len(tokens) and tokens[after].is_word("OVER"):
        _refuse_distinct_window(distinct)
    statement.replace(i, i, "string_agg")
    statement.insert(tokens[first].start, "(")
    statement.insert(value_end, ")::varchar" + ("" if comma is not None else ", ''"))
    if order_by is not None:
        statement.insert(tokens[close].start, order_by)


def _refuse_distinct_window(distinct: bool) -> None:
    if distinct:
        raise StatementError(
            "LISTAGG(DISTINCT …) OVER (…) is not supported by the local Redshift emulator",
            "0A000",
            detail="PostgreSQL's window aggregates take no DISTINCT; LISTAGG(DISTINCT …) with GROUP BY works.",
        )


def _analyze_compression(rest: list[Token]) -> str:
    """ANALYZE COMPRESSION [table [(columns)]] [COMPROWS n]: Redshift's default encodings, reduction 0.

    The emulator stores no compressed blocks, so it cannot estimate a reduction; it reports the
    encoding Redshift would choose by default (AZ64 for numbers, dates and times, LZO otherwise;
    RAW for BOOLEAN, REAL and DOUBLE PRECISION) for each column.
    https://docs.aws.amazon.com/redshift/latest/dg/r_ANALYZE_COMPRESSION.html
    """
    names = [t for t in rest if t.kind in (WORD, "ident") and not t.is_word("COMPROWS")]
    conditions = ["c.table_schema NOT IN ('pg_catalog', 'information_schema', 'redshift_emulator')"]
    if names and rest[0].kind in (WORD, "ident"):
        parts = [rest[0]]
        if len(rest) > 2 and rest[1].is_punct(".") and rest[2].kind in (WORD, "ident"):
            parts.append(rest[2])
        table = [_identifier(t) for t in parts]
        if len(table) == 2:
            conditions.append(f"c.table_schema = {_literal(table[0])}")
        else:
            conditions.append("c.table_schema = ANY (current_schemas(false))")
        conditions.append(f"c.table_name = {_literal(table[-1])}")
        columns_open = 1 + 2 * (len(table) - 1)
        if len(rest) > columns_open and rest[columns_open].is_punct("("):
            listed = []
            for t in rest[columns_open + 1 :]:
                if t.is_punct(")"):
                    break
                if t.kind in (WORD, "ident"):
                    listed.append(_literal(_identifier(t)))
            if listed:
                conditions.append(f"c.column_name IN ({', '.join(listed)})")
    return (
        'SELECT c.table_name::varchar(128) AS "Table", c.column_name::varchar(128) AS "Column", '
        "(CASE WHEN c.data_type IN ('boolean', 'real', 'double precision') THEN 'raw' "
        "WHEN c.data_type IN ('smallint', 'integer', 'bigint', 'numeric', 'date', "
        "'timestamp without time zone', 'timestamp with time zone', 'time without time zone', "
        "'time with time zone') THEN 'az64' ELSE 'lzo' END)::varchar(20) AS \"Encoding\", "
        '0.00::numeric(5, 2) AS "Est_reduction_pct" '
        f"FROM information_schema.columns c WHERE {' AND '.join(conditions)} "
        "ORDER BY c.table_schema, c.table_name, c.ordinal_position"
    )


def _vacuum(statement: Statement) -> str:
    """VACUUM [FULL | SORT ONLY | DELETE ONLY | REINDEX | RECLUSTER] [table [TO n PERCENT]] [BOOST]:
    PostgreSQL's VACUUM of the same table; sorting, thresholds and BOOST mean nothing here.
    https://docs.aws.amazon.com/redshift/latest/dg/r_VACUUM_command.html
    """
    tokens = statement.tokens
    j = 1
    while j < len(tokens) and tokens[j].is_word(*_VACUUM_OPTIONS):
        j += 1
    end = j
    while end < len(tokens) and not tokens[end].is_word("TO", "BOOST") and not tokens[end].is_punct(";"):
        end += 1
    table = statement.sql[tokens[j].start : tokens[end - 1].end] if end > j else ""
    return f"VACUUM {table}".strip()


def _identifier(token: Token) -> str:
    return token.value if token.kind == "ident" else token.value.lower()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
