"""Redshift's planner trusts declared keys: DISTINCT over a PRIMARY KEY or UNIQUE column set may do nothing.

Redshift does not enforce those constraints, and "a SELECT DISTINCT query might return duplicate
rows if the primary key is not unique"
(https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html). The emulator does the
same, conservatively, in a query over one table (not a join, a subquery or a WITH query's name):
- `SELECT DISTINCT <items> FROM t ...` whose items include t's columns: the DISTINCT becomes
  `GROUP BY 1, ..., n, <row>`, where <row> is a new value per row when t has a recorded key all of
  whose columns are among those items, and NULL (so the plain DISTINCT) when it has none;
- `COUNT(DISTINCT c)` in its select list counts every non-null c when (c) is a recorded key of t.
Whether t has such a key is asked when the statement runs (`redshift_emulator.trusted_key`,
constraints.sql), so that the statement sees its own session's tables and search path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from local_stack.redshift.sql_tokens import IDENT, NUMBER, WORD, Token

if TYPE_CHECKING:
    from local_stack.redshift.dialect.rewrite import Statement

_SET_OPERATORS = ("UNION", "INTERSECT", "EXCEPT", "MINUS")
# Words that end a single-table FROM item (an alias is any other word).
_AFTER_FROM = ("WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FETCH", "WINDOW", "FOR", *_SET_OPERATORS)
_NOT_ALIAS = frozenset(
    {*_AFTER_FROM, "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "ON", "USING", "TABLESAMPLE", "AS"}
)
# Words after which a DISTINCT's GROUP BY would not be the same query.
_UNSUPPORTED_CLAUSES = ("GROUP", "HAVING", "WINDOW", "FOR")


@dataclass(frozen=True)
class _Scope:
    """One SELECT over a single table: its select list's tokens, the table, and where its WHERE clause ends."""

    items: list[tuple[int, int]]  # each select item's first and last token
    relation: str  # the table's name as SQL text, for to_regclass
    qualifiers: frozenset[str]  # what qualifies its columns: its alias, or its name
    clauses: tuple[str, ...]  # the clause words that follow the FROM item, at the SELECT's level
    end: int  # the last token of the FROM item and its WHERE clause


def rewrite_distinct(statement: Statement, i: int) -> None:
    """Record the edits for the DISTINCT at token `i`, if it is one of the two forms above."""
    tokens = statement.tokens
    if _defines_view(tokens):
        return  # a view keeps its query as written; its reader's search path must not decide its rows
    if i > 0 and tokens[i - 1].is_word("SELECT"):
        _select_distinct(statement, i)
    elif i > 2 and tokens[i - 1].kind == NUMBER and tokens[i - 2].is_word("TOP") and tokens[i - 3].is_word("SELECT"):
        _select_distinct(statement, i)  # SELECT TOP n DISTINCT
    elif i > 1 and tokens[i - 1].is_punct("(") and tokens[i - 2].is_word("COUNT"):
        _count_distinct(statement, i)


def _defines_view(tokens: list[Token]) -> bool:
    """CREATE [OR REPLACE] [MATERIALIZED] VIEW ...: the words before its query name a view."""
    if not tokens or not tokens[0].is_word("CREATE"):
        return False
    for token in tokens[1:8]:
        if token.is_word("VIEW"):
            return True
        if token.is_word("AS", "SELECT", "TABLE"):
            return False
    return False


def _select_distinct(statement: Statement, i: int) -> None:
    tokens = statement.tokens
    first = i + 1
    if first + 1 < len(tokens) and tokens[first].is_word("TOP"):
        first += 2
    scope = _scope(statement, first)
    if scope is None or any(word in _UNSUPPORTED_CLAUSES for word in scope.clauses):
        return
    for start, end in scope.items:
        if tokens[end].is_punct("*") or any(t.is_word("SELECT", "OVER", "INTO") for t in tokens[start : end + 1]):
            return  # a *, a subquery, a window or SELECT INTO: not grouped by position
    columns = [c for c in (_column(tokens, start, end, scope.qualifiers) for start, end in scope.items) if c]
    if not columns:
        return  # no column of the table: no key among the items
    positions = ", ".join(str(n) for n in range(1, len(scope.items) + 1))
    condition = _trusted_key(scope.relation, columns)
    statement.remove_after(i - 1, i)
    at = tokens[scope.end].end
    statement.insert(at, f" GROUP BY {positions}, CASE WHEN {condition} THEN gen_random_uuid() END")
    if tokens[i - 1].kind == NUMBER:  # SELECT TOP n DISTINCT: TOP's LIMIT, recorded already, may be here too
        edit = statement.edits.pop()
        first = next((n for n, e in enumerate(statement.edits) if e.start == e.end == at), len(statement.edits))
        statement.edits.insert(first, edit)


def _count_distinct(statement: Statement, i: int) -> None:
    tokens = statement.tokens
    close = statement.closing.get(i - 1)
    if close is None:
        return
    first, last = i + 1, close - 1
    if first < last and tokens[first].is_punct("(") and statement.closing.get(first) == last:
        first, last = first + 1, last - 1  # COUNT(DISTINCT(c))
    select = _enclosing_select(tokens, i - 2)
    if select is None:
        return
    scope = _scope(statement, select + 1 + tokens[select + 1].is_word("DISTINCT"))
    if scope is None or not (scope.items and scope.items[0][0] <= i and i <= scope.items[-1][1]):
        return
    column = _column(tokens, first, last, scope.qualifiers, alias=False)
    if column is None:
        return
    value = statement.sql[tokens[first].start : tokens[last].end]
    original = statement.sql[tokens[i - 2].start : tokens[close].end]
    statement.replace(
        i - 2,
        close,
        f"(CASE WHEN {_trusted_key(scope.relation, [column])} THEN COUNT({value}) ELSE {original} END)",
    )


def _enclosing_select(tokens: list[Token], i: int) -> int | None:
    """The SELECT whose level token `i` is at, or is inside a parenthesis of (not a subquery's)."""
    depth = 0
    for j in range(i - 1, -1, -1):
        token = tokens[j]
        if token.is_punct(")"):
            depth += 1
        elif token.is_punct("("):
            depth = max(depth - 1, 0)  # leaving a parenthesis that holds `i`: its level is the one to search
        elif depth == 0 and token.is_word("SELECT"):
            return j
    return None


def _scope(statement: Statement, first: int) -> _Scope | None:
    """The SELECT whose items start at token `first`, if it reads a single table; else None."""
    tokens = statement.tokens
    items: list[tuple[int, int]] = []
    start, depth, j = first, 0, first
    while j < len(tokens):
        token = tokens[j]
        if token.is_punct("("):
            depth += 1
        elif token.is_punct(")"):
            if depth == 0:
                return None
            depth -= 1
        elif depth == 0 and token.is_punct(","):
            items.append((start, j - 1))
            start = j + 1
        elif depth == 0 and (token.is_word("FROM") or token.is_punct(";")):
            break
        j += 1
    if j >= len(tokens) or not tokens[j].is_word("FROM") or start > j - 1:
        return None
    items.append((start, j - 1))
    relation = _relation(tokens, j + 1)
    if relation is None:
        return None
    text, name, after = relation
    if name in _with_query_names(statement):
        return None  # a WITH query's name, not a table
    qualifiers = {name}
    if after < len(tokens) and tokens[after].is_word("AS"):
        after += 1
    if after < len(tokens) and tokens[after].kind in (WORD, IDENT) and tokens[after].upper not in _NOT_ALIAS:
        qualifiers = {_identifier(tokens[after])}
        after += 1
    if after < len(tokens) and tokens[after].is_punct("("):
        return None  # a column alias list, PIVOT or UNPIVOT: the items may not be the table's columns
    clauses: list[str] = []
    stop = None  # the token that the FROM item and its WHERE clause end before
    depth, j = 0, after
    while j < len(tokens):
        token = tokens[j]
        if token.is_punct("("):
            depth += 1
        elif token.is_punct(")"):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and token.is_punct(";"):
            break
        elif depth == 0 and token.upper in _AFTER_FROM:
            clauses.append(token.upper)
            stop = j if stop is None and token.upper != "WHERE" else stop
            if token.upper in _SET_OPERATORS:
                break  # the next SELECT's clauses are its own
        elif j == after:
            return None  # a join, a list of tables or anything else after the table
        j += 1
    end = (j if stop is None else stop) - 1
    return _Scope(items, text, frozenset(qualifiers), tuple(clauses), end)


def _relation(tokens: list[Token], j: int) -> tuple[str, str, int] | None:
    """The table named at token `j`: its SQL text, its unqualified name (as stored) and the token after it."""
    parts: list[Token] = []
    while j < len(tokens) and tokens[j].kind in (WORD, IDENT) and not tokens[j].is_word("ONLY", "LATERAL"):
        parts.append(tokens[j])
        if j + 1 < len(tokens) and tokens[j + 1].is_punct(".") and len(parts) < 3:
            j += 2
            continue
        j += 1
        break
    if not parts or (j < len(tokens) and tokens[j].is_punct("(")):
        return None  # a subquery, a function or nothing
    text = ".".join(t.value if t.kind == WORD else '"' + t.value.replace('"', '""') + '"' for t in parts)
    return text, _identifier(parts[-1]), j


def _with_query_names(statement: Statement) -> set[str]:
    """The names that WITH queries of the statement define (`name [(columns)] AS (`)."""
    tokens, names = statement.tokens, set[str]()
    if not any(t.is_word("WITH") for t in tokens):
        return names
    for j, token in enumerate(tokens[1:-1], 1):
        if not (token.is_word("AS") and tokens[j + 1].is_punct("(")):
            continue
        k = j - 1
        if tokens[k].is_punct(")"):
            k = next((o for o, c in statement.closing.items() if c == k), 0) - 1
        if k >= 0 and tokens[k].kind in (WORD, IDENT):
            names.add(_identifier(tokens[k]))
    return names


def _column(tokens: list[Token], start: int, end: int, qualifiers: frozenset[str], alias: bool = True) -> str | None:
    """The column (as stored) that tokens start..end name, `[qualifier.]column [[AS] alias]`, else None."""
    span = tokens[start : end + 1]
    if alias and len(span) >= 2 and span[-1].kind in (WORD, IDENT):
        named = span[:-2] if len(span) >= 3 and span[-2].is_word("AS") else span[:-1]
        if len(named) in (1, 3):
            span = named
    if len(span) == 3 and span[1].is_punct(".") and span[0].kind in (WORD, IDENT):
        if _identifier(span[0]) not in qualifiers:
            return None
        span = span[2:]
    if len(span) != 1 or span[0].kind not in (WORD, IDENT):
        return None
    return _identifier(span[0])


def _trusted_key(relation: str, columns: list[str]) -> str:
    names = ", ".join(_literal(c) for c in dict.fromkeys(columns))
    return f"(SELECT redshift_emulator.trusted_key({_literal(relation)}, ARRAY[{names}]::text[]))"


def _identifier(token: Token) -> str:
    return token.value if token.kind == IDENT else token.value.lower()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
