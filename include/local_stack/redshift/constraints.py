"""Redshift's informational constraints: how the DDL rewrite records them, and where readers find them.

PRIMARY KEY, UNIQUE and FOREIGN KEY are accepted and recorded but not enforced on Redshift
(https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html). The DDL rewrite
strips them and adds one `record_sql` statement per constraint to its DO block; constraints.sql
keeps the records (by table oid) and the views that union them with PostgreSQL's own rows.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = "redshift_emulator"

# Catalog relations a statement may name, and the emulator's views that stand in for them (the
# statement translator replaces the qualified names).
RELATION_REWRITES: dict[tuple[str, str], str] = {
    ("information_schema", "table_constraints"): f"{SCHEMA}.table_constraints",
    ("information_schema", "key_column_usage"): f"{SCHEMA}.key_column_usage",
    ("pg_catalog", "pg_constraint"): f"{SCHEMA}.pg_constraint",
}

KINDS = {"PRIMARY": "p", "UNIQUE": "u", "FOREIGN": "f", "REFERENCES": "f"}


@dataclass(frozen=True)
class Constraint:
    """One PRIMARY KEY ('p'), UNIQUE ('u') or FOREIGN KEY ('f') constraint; names as PostgreSQL stores them."""

    kind: str
    columns: tuple[str, ...]
    name: str | None = None  # None: PostgreSQL's default name
    references: str | None = None  # a foreign key's referenced table, as SQL text
    ref_columns: tuple[str, ...] | None = None  # None: the referenced table's primary key

    def record_sql(self, table: str, added: bool = False) -> str:
        """The PL/pgSQL statement that records this constraint of `table` (SQL text of its name);
        `added`: it comes from ALTER TABLE ... ADD."""
        arguments = [
            f"{_literal(table)}::regclass",
            _literal(self.name) if self.name is not None else "NULL",
            _literal(self.kind),
            _text_array(self.columns),
            f"{_literal(self.references)}::regclass" if self.references else "NULL",
            _text_array(self.ref_columns) if self.ref_columns is not None else "NULL",
            "TRUE" if added else "FALSE",
        ]
        return f"PERFORM {SCHEMA}.add_constraint({', '.join(arguments)});"


def drop_sql(table: str, name: str, cascade: bool, if_exists: bool) -> str:
    """A PL/pgSQL condition: true when recorded constraint `name` of `table` existed and is forgotten."""
    relation = f"to_regclass({_literal(table)})" if if_exists else f"{_literal(table)}::regclass"
    return f"{SCHEMA}.drop_constraint({relation}, {_literal(name)}, {'TRUE' if cascade else 'FALSE'})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _text_array(names: tuple[str, ...]) -> str:
    return f"ARRAY[{', '.join(_literal(n) for n in names)}]::text[]"
