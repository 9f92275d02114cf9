"""A table's distribution style, distribution key and sort style, as its Redshift DDL declares them.

PostgreSQL has no distribution and no interleaved sort, so the DDL rewrite drops these attributes
and records them instead (catalog.sql: `redshift_emulator.table_layout`), for pg_table_def and
svv_table_info (https://docs.aws.amazon.com/redshift/latest/dg/r_PG_TABLE_DEF.html,
https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html).
"""

from __future__ import annotations

from dataclasses import dataclass

DISTSTYLES = ("AUTO", "EVEN", "KEY", "ALL")


@dataclass
class Layout:
    """What one CREATE or ALTER TABLE declares; None: not declared (the recorded value, or Redshift's default)."""

    diststyle: str | None = None  # AUTO, EVEN, KEY or ALL
    distkey: str | None = None  # the column, as PostgreSQL stores its name
    interleaved: bool | None = None  # INTERLEAVED SORTKEY (True) or [COMPOUND] SORTKEY (False)

    def record_sql(self, table: str) -> str | None:
        """The PL/pgSQL statement that records this layout of `table` (SQL text of its name), or None when
        nothing is declared."""
        if self.diststyle is None and self.distkey is None and self.interleaved is None:
            return None
        arguments = [
            f"{_literal(table)}::regclass",
            _literal(self.diststyle) if self.diststyle in DISTSTYLES else "NULL",
            _literal(self.distkey) if self.distkey is not None else "NULL",
            "NULL" if self.interleaved is None else str(self.interleaved).upper(),
        ]
        return f"PERFORM redshift_emulator.record_layout({', '.join(arguments)});"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
