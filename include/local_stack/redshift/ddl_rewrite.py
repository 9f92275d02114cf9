"""Redshift DDL rewritten for PostgreSQL: distribution, sort and encoding attributes, IDENTITY, VARCHAR(MAX),
and Redshift's informational constraints.

Distribution and encoding attributes are dropped; each sort key becomes a b-tree index on the
same columns. PRIMARY KEY, UNIQUE and REFERENCES/FOREIGN KEY are dropped too, so PostgreSQL
enforces none of them, and recorded instead (`constraints.py`), as Redshift records and does not
enforce them; a primary key's columns become NOT NULL; CHECK is refused, as on Redshift. A
rewritten statement is always one statement (the extended query protocol allows no more), so a
CREATE TABLE with a sort key or a constraint becomes a PL/pgSQL DO block. With IF NOT EXISTS the
block first asks `to_regclass`, which takes no lock: when the table exists nothing runs, and no
CREATE INDEX waits for a SHARE lock behind another session's writes (issue 13).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from local_stack.redshift.constraints import Constraint, drop_sql
from local_stack.redshift.sql_tokens import IDENT, WORD, Token, tokenize_complete
from local_stack.redshift.table_layout import DISTSTYLES, Layout

# Redshift's error for CHECK (unsupported: https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html).
CHECK_REFUSED = "ALTER/CREATE TABLE column CHECK constraint is not supported"
_TABLE_CONSTRAINTS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "LIKE", "EXCLUDE")
_VARCHAR_TYPES = ("VARCHAR", "NVARCHAR", "VARYING")
_RENAMED_TYPES = {"NVARCHAR": "VARCHAR", "NCHAR": "CHAR"}
# Column types without a length that Redshift stores with one: a TEXT column is VARCHAR(256) and a BPCHAR
# column CHAR(256) (https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html).
_SIZED_TYPES = {"TEXT": "VARCHAR(256)", "BPCHAR": "CHAR(256)"}
_ALTER_NOOPS = ("DISTSTYLE", "DISTKEY", "SORTKEY", "COMPOUND", "INTERLEAVED", "ENCODE")
VARCHAR_MAX = 65535


def rewrite_ddl(sql: str) -> str | None:
    """The PostgreSQL statement that stands in for Redshift DDL `sql`, or None if it needs no rewriting.

    Handles one statement (an optional trailing `;` is dropped):
    - CREATE [TEMP] TABLE [IF NOT EXISTS] with DISTSTYLE, DISTKEY, [COMPOUND|INTERLEAVED] SORTKEY
      (table or column level), ENCODE, BACKUP, IDENTITY(seed, step), VARCHAR(MAX), NVARCHAR,
      TEXT (VARCHAR(256)), BPCHAR (CHAR(256)), COLLATE CASE_[IN]SENSITIVE. With a sort key, or with IF
      NOT EXISTS, the result is a `DO` block (command tag DO, not CREATE TABLE).
    - ALTER TABLE t ALTER DISTSTYLE|DISTKEY|SORTKEY|ENCODE ... and ALTER COLUMN c ENCODE ...:
      a `DO` block that only checks that the table exists (`'t'::regclass`), so it fails as
      Redshift would for a missing table and otherwise changes nothing.
    - ALTER TABLE t ADD [COLUMN] with Redshift column attributes: the column rewritten.
    - Column-level PRIMARY KEY, UNIQUE, REFERENCES and table-level [CONSTRAINT name] PRIMARY KEY,
      UNIQUE, FOREIGN KEY in CREATE TABLE, ALTER TABLE t ADD [CONSTRAINT name] PRIMARY KEY|UNIQUE|
      FOREIGN KEY and ALTER TABLE t DROP CONSTRAINT name: removed from the statement and recorded
      or forgotten in the same DO block (`constraints.py`). CHECK: a DO block that raises Redshift's
      error, SQLSTATE 0A000.
    """
    tokens = tokenize_complete(sql)
    if tokens is None:
        return None
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
    constraints: list[Constraint] = field(default_factory=list)
    refused: str | None = None  # Redshift's error for a construct it refuses
    layout: Layout = field(default_factory=Layout)  # DISTSTYLE, DISTKEY, INTERLEAVED: recorded (table_layout.py)

    def remove(self, first: Token, last: Token) -> None:
        start = first.start
        while start > 0 and self.sql[start - 1] in " \t":
            start -= 1
        if start > 0 and self.sql[start - 1] == "\n":
            start -= 1  # an attribute at the start of a line: the rest of the line joins the one before
        self.changes.append((start, last.end, ""))

    def replace(self, first: Token, last: Token, text: str) -> None:
        self.changes.append((first.start, last.end, text))

    def insert(self, at: int, text: str) -> None:
        self.changes.append((at, at, text))

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
        elements = _split(tokens[i + 1 : close])
        for element in elements:
            sort_columns += _column_definition(element, edits)
        _table_constraints(elements, edits)
        i = close + 1
    while i < len(tokens) and not tokens[i].is_word("AS"):
        i, columns = _table_attribute(tokens, i, edits)
        sort_columns += columns
    if edits.refused:
        return _refusal(edits.refused)
    if not edits.changes and not sort_columns:
        return None
    create = edits.apply(tokens[0].start, tokens[-1].end)
    layout = edits.layout.record_sql(name)
    if not sort_columns and not if_not_exists and not edits.constraints and layout is None:
        return create
    body = f"{create};"
    if sort_columns:
        index = _quote(short[: 63 - len("_sortkey_idx")] + "_sortkey_idx")
        body += f" CREATE INDEX IF NOT EXISTS {index} ON {name} ({', '.join(dict.fromkeys(sort_columns))});"
    body += "".join(f" {c.record_sql(name)}" for c in edits.constraints)
    body += f" {layout}" if layout is not None else ""
    if if_not_exists:
        body = f"IF to_regclass({_literal(name)}) IS NULL THEN {body} END IF;"
    return _do_block(f"BEGIN {body} END;")


def _alter_table(sql: str, tokens: list[Token]) -> str | None:
    if_exists = [t.upper for t in tokens[2:4]] == ["IF", "EXISTS"]
    name, _, i = _table_name(tokens, 2 + 2 * if_exists)
    if name is None or i >= len(tokens):
        return None
    action = [t.upper for t in tokens[i : i + 4]]
    if action[0] == "ALTER" and (
        action[1:2] and action[1] in _ALTER_NOOPS or action[1:2] == ["COLUMN"] and action[3:4] == ["ENCODE"]
    ):
        layout = _altered_layout(tokens, i + 1).record_sql(name)
        return _do_block(f"BEGIN {layout or f'PERFORM {_literal(name)}::regclass;'} END;")
    if action[0] == "ADD" and action[1:2] and action[1] in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
        return _add_constraint(sql, tokens[i + 1 :], name, if_exists)
    if action[0] == "DROP" and action[1:2] == ["CONSTRAINT"]:
        return _drop_constraint(sql, tokens, i + 2, name, if_exists)
    if action[0] == "ADD" and action[1:2] and action[1] not in _TABLE_CONSTRAINTS:
        start = i + 1 + (action[1] == "COLUMN")
        start += 3 * ([t.upper for t in tokens[start : start + 3]] == ["IF", "NOT", "EXISTS"])
        edits = _Edits(sql)
        _column_definition(tokens[start:], edits)
        if edits.refused:
            return _refusal(edits.refused)
        if not edits.changes:
            return None
        alter = edits.apply(tokens[0].start, tokens[-1].end)
        if not edits.constraints:
            return alter
        return _do_block(f"BEGIN {alter};{''.join(f' {c.record_sql(name)}' for c in edits.constraints)} END;")
    return None


def _add_constraint(sql: str, action: list[Token], name: str, if_exists: bool) -> str | None:
    """ALTER TABLE t ADD [CONSTRAINT c] PRIMARY KEY|UNIQUE|FOREIGN KEY ...: recorded, not created."""
    if len(_split(action)) > 1:
        return _refusal("the local Redshift emulator adds one constraint per ALTER TABLE")
    edits = _Edits(sql)
    constraint = _table_constraint(action, edits)
    if edits.refused:
        return _refusal(edits.refused)
    if constraint is None:
        return None
    record = constraint.record_sql(name, added=True)
    if if_exists:
        skipping = _literal(f'relation "{name}" does not exist, skipping')
        record = f"IF to_regclass({_literal(name)}) IS NULL THEN RAISE NOTICE '%', {skipping}; ELSE {record} END IF;"
    return _do_block(f"BEGIN {record} END;")


def _drop_constraint(sql: str, tokens: list[Token], i: int, name: str, if_exists: bool) -> str | None:
    """ALTER TABLE t DROP CONSTRAINT c [RESTRICT|CASCADE]: a recorded constraint is forgotten; any
    other goes to PostgreSQL as written (its own NOT NULL constraints, or its error for a wrong name)."""
    i += 2 * ([t.upper for t in tokens[i : i + 2]] == ["IF", "EXISTS"])
    if i >= len(tokens) or tokens[i].kind not in (WORD, IDENT):
        return None
    constraint, rest = _name(tokens[i]), [t.upper for t in tokens[i + 1 :]]
    if rest not in ([], ["RESTRICT"], ["CASCADE"]):
        return None
    forgotten = drop_sql(name, constraint, rest == ["CASCADE"], if_exists)
    return _do_block(f"BEGIN IF NOT {forgotten} THEN {sql[tokens[0].start : tokens[-1].end]}; END IF; END;")


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
    constraint_name: str | None = None  # CONSTRAINT name before a column constraint
    while k < len(element):
        token, following = element[k], element[k + 1] if k + 1 < len(element) else None
        if token.is_word("ENCODE") and following is not None:
            edits.remove(token, following)
            k += 2
            continue
        if token.is_word("CONSTRAINT") and following is not None and k + 2 < len(element):
            if element[k + 2].is_word("PRIMARY", "UNIQUE", "REFERENCES"):
                constraint_name = _name(following)
                edits.remove(token, following)
            k += 2
            continue
        if token.is_word("PRIMARY", "UNIQUE", "REFERENCES", "CHECK"):
            k = _column_constraint(element, k, edits, constraint_name)
            constraint_name = None
            continue
        if token.is_word("DISTKEY", "SORTKEY"):
            edits.remove(token, token)
            sort += [column] if token.is_word("SORTKEY") else []
            if token.is_word("DISTKEY"):
                edits.layout.distkey = _name(element[0])
        elif (
            token.is_word("COLLATE")
            and following is not None
            and following.is_word("CASE_SENSITIVE", "CASE_INSENSITIVE")
        ):
            edits.remove(token, following)
            k += 1
        elif token.upper in _RENAMED_TYPES and k == 1:
            edits.replace(token, token, _RENAMED_TYPES[token.upper])
        elif (
            token.kind == WORD
            and token.upper in _SIZED_TYPES
            and k == 1
            and not (following and following.is_punct("("))
        ):
            edits.replace(token, token, _SIZED_TYPES[token.upper])
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


def _column_constraint(element: list[Token], k: int, edits: _Edits, name: str | None) -> int:
    """Record and remove the column constraint at `k` (PRIMARY KEY becomes NOT NULL); the next index."""
    token, column = element[k], (_name(element[0]),)
    if token.is_word("CHECK"):
        edits.refused = CHECK_REFUSED
        return len(element)
    if token.is_word("PRIMARY") and k + 1 < len(element) and element[k + 1].is_word("KEY"):
        edits.replace(token, element[k + 1], "NOT NULL")
        edits.constraints.append(Constraint("p", column, name))
        return k + 2
    if token.is_word("UNIQUE"):
        edits.remove(token, token)
        edits.constraints.append(Constraint("u", column, name))
        return k + 1
    if token.is_word("REFERENCES"):
        end, table, ref_columns = _references(element, k)
        if table is not None:
            edits.remove(token, element[end - 1])
            edits.constraints.append(Constraint("f", column, name, table, ref_columns))
        return end
    return k + 1


def _table_constraints(elements: list[list[Token]], edits: _Edits) -> None:
    """Record and remove the table constraints among `elements` (with their commas); a primary
    key's columns get NOT NULL, unless they declare NULL or NOT NULL themselves."""
    columns = {
        _name(e[0]): e for e in elements if e and e[0].kind in (WORD, IDENT) and e[0].upper not in _TABLE_CONSTRAINTS
    }
    kept_before = False
    for j, element in enumerate(elements):
        constraint = _table_constraint(element, edits) if element else None
        if constraint is None:
            kept_before = True
            continue
        if kept_before:  # from the end of the element before, so its comma goes too
            edits.changes.append((elements[j - 1][-1].end, element[-1].end, ""))
        else:  # a leading constraint: up to the next element
            following = elements[j + 1][0].start if j + 1 < len(elements) else element[-1].end
            edits.changes.append((element[0].start, following, ""))
        if constraint.kind == "p":
            for column in (columns.get(c) for c in constraint.columns):
                if column is not None and not any(
                    t.is_word("NULL") and not column[n - 1].is_word("DEFAULT") for n, t in enumerate(column)
                ):
                    edits.insert(column[-1].end, " NOT NULL")
        edits.constraints.append(constraint)


def _table_constraint(element: list[Token], edits: _Edits) -> Constraint | None:
    """The table constraint `element`, if it is [CONSTRAINT name] PRIMARY KEY|UNIQUE|FOREIGN KEY (...)."""
    k, name = 0, None
    if element[0].is_word("CONSTRAINT") and len(element) > 2:
        k, name = 2, _name(element[1])
    head, following = element[k], element[k + 1] if k + 1 < len(element) else None
    if head.is_word("CHECK"):
        edits.refused = CHECK_REFUSED
        return None
    if head.is_word("UNIQUE"):
        kind, k = "u", k + 1
    elif head.is_word("PRIMARY", "FOREIGN") and following is not None and following.is_word("KEY"):
        kind, k = ("p" if head.is_word("PRIMARY") else "f"), k + 2
    else:
        return None
    if not (k < len(element) and element[k].is_punct("(")):
        return None
    close = _matching(element, k)
    columns = tuple(_name(e[0]) for e in _split(element[k + 1 : close]))
    if kind != "f":
        return Constraint(kind, columns, name)
    if not (close + 1 < len(element) and element[close + 1].is_word("REFERENCES")):
        return None
    _, table, ref_columns = _references(element, close + 1)
    return Constraint(kind, columns, name, table, ref_columns) if table is not None else None


def _references(tokens: list[Token], k: int) -> tuple[int, str | None, tuple[str, ...] | None]:
    """REFERENCES at `k`: the index after it and PostgreSQL's MATCH/ON/DEFERRABLE options, the
    referenced table's SQL text and its columns (None: its primary key)."""
    table, _, j = _table_name(tokens, k + 1)
    columns = None
    if table is not None and j < len(tokens) and tokens[j].is_punct("("):
        close = _matching(tokens, j)
        columns = tuple(_name(e[0]) for e in _split(tokens[j + 1 : close]))
        j = close + 1
    while j < len(tokens):
        words = [t.upper for t in tokens[j : j + 3]]
        if words[0] in ("MATCH", "INITIALLY") or words[:2] == ["NOT", "DEFERRABLE"]:
            j += 2
        elif words[0] == "DEFERRABLE":
            j += 1
        elif words[0] == "ON" and words[1:2] in (["DELETE"], ["UPDATE"]):
            j += 3 + (words[2:3] in (["NO"], ["SET"]))
        else:
            break
    return min(j, len(tokens)), table, columns


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
        parts = _split(tokens[i + 2 : close])
        columns = [edits.sql[e[0].start : e[-1].end] for e in parts]
        if token.is_word("SORTKEY"):
            edits.layout.interleaved = True if first.is_word("INTERLEAVED") else None  # compound: the default
            return close + 1, columns
        if parts and parts[0]:
            edits.layout.distkey = _name(parts[0][0])
        return close + 1, []
    if (token.is_word("DISTSTYLE", "ENCODE", "BACKUP", "SORTKEY")) and following is not None and following.kind == WORD:
        edits.remove(first, following)
        if token.is_word("DISTSTYLE") and following.upper in DISTSTYLES:
            edits.layout.diststyle = following.upper
        return i + 2, []
    return i + 1, []


def _altered_layout(tokens: list[Token], k: int) -> Layout:
    """The layout that the ALTER DISTSTYLE style [DISTKEY c] and ALTER DISTKEY c clauses from `k` on declare (one
    or two clauses, with a sort key's: https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html); the
    sort-key and encoding forms are accepted and not recorded."""
    layout = Layout()
    for j in range(k, len(tokens) - 1):
        token, following = tokens[j], tokens[j + 1]
        if token.is_word("DISTSTYLE") and following.upper in DISTSTYLES:
            layout.diststyle = following.upper
        elif token.is_word("DISTKEY") and following.kind in (WORD, IDENT):
            layout.distkey = _name(following)
    return layout


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


def _name(token: Token) -> str:
    """An identifier as PostgreSQL stores it: quoted as written, unquoted in lower case."""
    return token.value if token.kind == IDENT else token.value.lower()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _refusal(message: str) -> str:
    """A statement that fails with `message` and SQLSTATE 0A000 (a DO block: one statement in either protocol)."""
    return _do_block(f"BEGIN RAISE EXCEPTION USING MESSAGE = {_literal(message)}, ERRCODE = '0A000'; END;")


def _do_block(body: str) -> str:
    tag, n = "$ddl$", 0
    while tag in body:
        n += 1
        tag = f"$ddl{n}$"
    return f"DO {tag} {body} {tag}"
