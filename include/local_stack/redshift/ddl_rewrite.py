"""Redshift DDL rewritten for PostgreSQL: distribution, sort and encoding attributes, IDENTITY, VARCHAR(MAX).

Distribution and encoding attributes are dropped; each sort key becomes a b-tree index on the
same columns. A rewritten statement is always one statement (the extended query protocol allows
no more), so a CREATE TABLE with a sort key becomes a PL/pgSQL DO block. With IF NOT EXISTS the
block first asks `to_regclass`, which takes no lock: when the table exists nothing runs, and no
CREATE INDEX waits for a SHARE lock behind another session's writes (issue 13).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from local_stack.redshift.sql_tokens import IDENT, WORD, Token, is_complete, tokenize

_TABLE_CONSTRAINTS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "LIKE", "EXCLUDE")
_VARCHAR_TYPES = ("VARCHAR", "NVARCHAR", "VARYING")
_RENAMED_TYPES = {"NVARCHAR": "VARCHAR", "NCHAR": "CHAR"}
_ALTER_NOOPS = ("DISTSTYLE", "DISTKEY", "SORTKEY", "COMPOUND", "INTERLEAVED", "ENCODE")
VARCHAR_MAX = 65535


def rewrite_ddl(sql: str) -> str | None:
    """The PostgreSQL statement that stands in for Redshift DDL `sql`, or None if it needs no rewriting.

    Handles one statement (an optional trailing `;` is dropped):
    - CREATE [TEMP] TABLE [IF NOT EXISTS] with DISTSTYLE, DISTKEY, [COMPOUND|INTERLEAVED] SORTKEY
      (table or column level), ENCODE, BACKUP, IDENTITY(seed, step), VARCHAR(MAX), NVARCHAR,
      COLLATE CASE_[IN]SENSITIVE. With a sort key, or with IF NOT EXISTS, the result is a
      `DO` block (command tag DO, not CREATE TABLE).
    - ALTER TABLE t ALTER DISTSTYLE|DISTKEY|SORTKEY|ENCODE ... and ALTER COLUMN c ENCODE ...:
      a `DO` block that only checks that the table exists (`'t'::regclass`), so it fails as
      Redshift would for a missing table and otherwise changes nothing.
    - ALTER TABLE t ADD [COLUMN] with Redshift column attributes: the column rewritten.
    """
    if not is_complete(sql):
        return None
    tokens = tokenize(sql)
    while tokens and tokens[-1].is_punct(";"):
        tokens.pop()
    if len(tokens) < 3 or any(t.is_punct(";") for t in tokens):
        return None
    if tokens[0].is_word("CREATE"):
        return _create_table(sql, tokens)
    if tokens[0].is_word("ALTER") and tokens[1].is_word("TABLE"):
        return _alter_table(sql, tokens)
    return None


@dataclass
class _Edits:
    sql: str
    changes: list[tuple[int, int, str]] = field(default_factory=list)

    def remove(self, first: Token, last: Token) -> None:
        start = first.start
        while start > 0 and self.sql[start - 1] in " \t":
            start -= 1
        if start > 0 and self.sql[start - 1] == "\n":
            start -= 1  # an attribute at the start of a line: the rest of the line joins the one before
        self.changes.append((start, last.end, ""))

    def replace(self, first: Token, last: Token, text: str) -> None:
        self.changes.append((first.start, last.end, text))

    def apply(self, start: int, end: int) -> str:
        out, at = [], start
        for begin, stop, text in sorted(self.changes):
            out += [self.sql[at:begin], text]
            at = stop
        out.append(self.sql[at:end])
        return "".join(out)


def _create_table(sql: str, tokens: list[Token]) -> str | None:
    i = 1
    if tokens[i].is_word("TEMP", "TEMPORARY"):
        i += 1
    elif tokens[i].is_word("LOCAL") and tokens[i + 1].is_word("TEMP", "TEMPORARY"):
        i += 2
    if i >= len(tokens) or not tokens[i].is_word("TABLE"):
        return None
    i += 1
    if_not_exists = [t.upper for t in tokens[i : i + 3]] == ["IF", "NOT", "EXISTS"]
    i += 3 * if_not_exists
    name, short, i = _table_name(tokens, i)
    if name is None:
        return None
    edits, sort_columns = _Edits(sql), []
    if i < len(tokens) and tokens[i].is_punct("("):
        close = _matching(tokens, i)
        for element in _split(tokens[i + 1 : close]):
            sort_columns += _column_definition(element, edits)
        i = close + 1
    while i < len(tokens) and not tokens[i].is_word("AS"):
        i, columns = _table_attribute(tokens, i, edits)
        sort_columns += columns
    if not edits.changes and not sort_columns:
        return None
    create = edits.apply(tokens[0].start, tokens[-1].end)
    if not sort_columns and not if_not_exists:
        return create
    body = f"{create};"
    if sort_columns:
        index = _quote(short[: 63 - len("_sortkey_idx")] + "_sortkey_idx")
        body += f" CREATE INDEX IF NOT EXISTS {index} ON {name} ({', '.join(dict.fromkeys(sort_columns))});"
    if if_not_exists:
        body = f"IF to_regclass({_literal(name)}) IS NULL THEN {body} END IF;"
    return _do_block(f"BEGIN {body} END;")


def _alter_table(sql: str, tokens: list[Token]) -> str | None:
    i = 2 + 2 * ([t.upper for t in tokens[2:4]] == ["IF", "EXISTS"])
    name, _, i = _table_name(tokens, i)
    if name is None or i >= len(tokens):
        return None
    action = [t.upper for t in tokens[i : i + 4]]
    if action[0] == "ALTER" and (
        action[1:2] and action[1] in _ALTER_NOOPS or action[1:2] == ["COLUMN"] and action[3:4] == ["ENCODE"]
    ):
        return _do_block(f"BEGIN PERFORM {_literal(name)}::regclass; END;")
    if action[0] == "ADD" and action[1:2] and action[1] not in _TABLE_CONSTRAINTS:
        start = i + 1 + (action[1] == "COLUMN")
        start += 3 * ([t.upper for t in tokens[start : start + 3]] == ["IF", "NOT", "EXISTS"])
        edits = _Edits(sql)
        _column_definition(tokens[start:], edits)
        return edits.apply(tokens[0].start, tokens[-1].end) if edits.changes else None
    return None


def _table_name(tokens: list[Token], i: int) -> tuple[str | None, str, int]:
    """The table name at `i` as SQL text (`schema.table`, quoting kept), its last part, and the next index."""
    parts, short = [], ""
    while i < len(tokens) and tokens[i].kind in (WORD, IDENT):
        token = tokens[i]
        parts.append(_quote(token.value) if token.kind == IDENT else token.value)
        short = token.value if token.kind == IDENT else token.value.lower()
        i += 1
        if not (i < len(tokens) and tokens[i].is_punct(".")):
            break
        i += 1
    return (".".join(parts) if parts else None), short, i


def _column_definition(element: list[Token], edits: _Edits) -> list[str]:
    """Rewrite one column definition in place; return its name if it is a column-level SORTKEY."""
    if not element or element[0].upper in _TABLE_CONSTRAINTS or element[0].kind not in (WORD, IDENT):
        return []
    column, sort, k = _source(element[0]), [], 1
    while k < len(element):
        token, following = element[k], element[k + 1] if k + 1 < len(element) else None
        if token.is_word("ENCODE") and following is not None:
            edits.remove(token, following)
            k += 2
            continue
        if token.is_word("DISTKEY", "SORTKEY"):
            edits.remove(token, token)
            sort += [column] if token.is_word("SORTKEY") else []
        elif (
            token.is_word("COLLATE")
            and following is not None
            and following.is_word("CASE_SENSITIVE", "CASE_INSENSITIVE")
        ):
            edits.remove(token, following)
            k += 1
        elif token.upper in _RENAMED_TYPES and k == 1:
            edits.replace(token, token, _RENAMED_TYPES[token.upper])
        elif token.is_word("IDENTITY") and following is not None and following.is_punct("("):
            close = _matching(element, k + 1)
            arguments = _split(element[k + 2 : close])
            if len(arguments) == 2:
                seed, step = (edits.sql[a[0].start : a[-1].end] for a in arguments)
                generated = element[k - 1].is_word("AS")  # Redshift's GENERATED BY DEFAULT AS IDENTITY(s, t)
                bound = "MAXVALUE" if step.lstrip().startswith("-") else "MINVALUE"  # Redshift allows a seed of 0
                edits.replace(
                    token,
                    element[close],
                    f"{'' if generated else 'GENERATED BY DEFAULT AS '}"
                    f"IDENTITY (START WITH {seed} INCREMENT BY {step} {bound} {seed})",
                )
            k = close
        if (
            token.upper in _VARCHAR_TYPES
            and following is not None
            and following.is_punct("(")
            and k + 3 < len(element)
            and element[k + 2].is_word("MAX")
            and element[k + 3].is_punct(")")
        ):
            edits.replace(element[k + 2], element[k + 2], str(VARCHAR_MAX))
            k += 3
        k += 1
    return sort


def _table_attribute(tokens: list[Token], i: int, edits: _Edits) -> tuple[int, list[str]]:
    """Remove the Redshift table attribute at `i`, if it is one; return the next index and any sort columns."""
    first = token = tokens[i]
    if token.is_word("COMPOUND", "INTERLEAVED") and i + 1 < len(tokens) and tokens[i + 1].is_word("SORTKEY"):
        i += 1
        token = tokens[i]
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    if token.is_word("DISTKEY", "SORTKEY") and following is not None and following.is_punct("("):
        close = _matching(tokens, i + 1)
        edits.remove(first, tokens[close])
        columns = [edits.sql[e[0].start : e[-1].end] for e in _split(tokens[i + 2 : close])]
        return close + 1, columns if token.is_word("SORTKEY") else []
    if (token.is_word("DISTSTYLE", "ENCODE", "BACKUP", "SORTKEY")) and following is not None and following.kind == WORD:
        edits.remove(first, following)
        return i + 2, []
    return i + 1, []


def _matching(tokens: list[Token], open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(tokens)):
        depth += tokens[j].is_punct("(") - tokens[j].is_punct(")")
        if depth == 0:
            return j
    return len(tokens) - 1


def _split(tokens: list[Token]) -> list[list[Token]]:
    """Split at the commas outside parentheses."""
    parts: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for token in tokens:
        depth += token.is_punct("(") - token.is_punct(")")
        if depth == 0 and token.is_punct(","):
            parts.append(current)
            current = []
        else:
            current.append(token)
    return [*parts, current] if current else parts


def _source(token: Token) -> str:
    return _quote(token.value) if token.kind == IDENT else token.value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _do_block(body: str) -> str:
    tag, n = "$ddl$", 0
    while tag in body:
        n += 1
        tag = f"$ddl{n}$"
    return f"DO {tag} {body} {tag}"
