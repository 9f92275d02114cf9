"""LoadDimensionOperator: truncate-insert, append, or merge a dimension table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from sparkify.identifiers import quote_identifier, quote_table, split_table_name, validate_identifier
from sparkify.operators.warehouse_operator import WarehouseOperator
from sparkify.warehouse import execute, transaction
from sparkify.window import run_window

if TYPE_CHECKING:
    from airflow.sdk import Context

MODES = ("truncate-insert", "append", "merge")


class DuplicateKeyError(AirflowFailException):
    """The dimension SELECT produced more than one row for a merge key (a data error: not retried)."""


class LoadDimensionOperator(WarehouseOperator):
    """
    Load a dimension table from a SELECT, in one transaction.

    ``truncate-insert`` replaces the table, ``append`` adds rows, and ``merge`` replaces
    the rows whose key the SELECT produces and keeps all others, so history is never lost.
    The SQL may use ``%(window_start)s`` and ``%(window_end)s``.

    :param table: Dimension table, ``table`` or ``schema.table``. (templated)
    :param sql: SELECT producing the table's columns in order, or a ``.sql`` file. (templated)
    :param mode: ``'truncate-insert'``, ``'append'`` or ``'merge'``.
    :param key: Key column(s): required for ``merge``; with the other modes, the load is refused
        when the table ends up holding a key twice.
    :param post_sql: Statements run after the load in the same transaction, or a ``.sql``
        file, e.g. to record what was loaded. (templated)
    :param redshift_conn_id: Warehouse connection. (templated)

    The table is locked for the transaction, so concurrent runs merge one after another.
    """

    template_fields: Sequence[str] = ("table", "sql", "post_sql", "redshift_conn_id")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "post_sql": "sql"}
    ui_color = "#80BD9E"

    def __init__(
        self,
        *,
        table: str,
        sql: str,
        mode: str = "merge",
        key: str | Sequence[str] = (),
        post_sql: str | None = None,
        redshift_conn_id: str = "redshift",
        **kwargs,
    ) -> None:
        super().__init__(redshift_conn_id=redshift_conn_id, **kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}.")
        self.key = (key,) if isinstance(key, str) else tuple(key)
        if mode == "merge" and not self.key:
            raise ValueError("mode='merge' needs the key column(s) to merge on.")
        for column in self.key:
            validate_identifier(column, "key column")
        if "{{" not in table:
            quote_table(table)
        self.table = table
        self.sql = sql
        self.mode = mode
        self.post_sql = post_sql

    def _merge_stage(self) -> str:
        return quote_identifier(f"{split_table_name(self.table)[1]}_merge_stage")

    def build_statements(self) -> list[str]:
        """The statements of one load, in order."""
        from sparkify.ddl import split_statements  # sqlparse: a task-time import

        table = quote_table(self.table)
        post = split_statements(self.post_sql) if self.post_sql else []
        lock = f"LOCK TABLE {table}"
        if self.mode == "append":
            return [lock, f"INSERT INTO {table}\n{self.sql}", *post]
        if self.mode == "truncate-insert":  # DELETE, because TRUNCATE commits on Redshift
            return [lock, f"DELETE FROM {table}", f"INSERT INTO {table}\n{self.sql}", *post]
        stage = self._merge_stage()
        on = " AND ".join(f"{table}.{quote_identifier(k)} = {stage}.{quote_identifier(k)}" for k in self.key)
        return [
            lock,
            f"CREATE TEMPORARY TABLE {stage} AS\n{self.sql}",
            f"DELETE FROM {table} USING {stage} WHERE {on}",
            f"INSERT INTO {table} SELECT * FROM {stage}",
            f"DROP TABLE {stage}",
            *post,
        ]

    def _duplicate_keys_sql(self, source: str | None = None) -> str:
        # Each key's second row, not GROUP BY ... HAVING COUNT(*) > 1: the table may declare the key, and
        # Redshift's planner trusts a declared key (t_Defining_constraints.html), so a grouping by it may
        # be taken as one row per group.
        keys = ", ".join(quote_identifier(k) for k in self.key)
        source = source or self._merge_stage()
        numbered = f"SELECT {keys}, ROW_NUMBER() OVER (PARTITION BY {keys}) AS key_occurrence FROM {source}"
        return f"SELECT {keys} FROM ({numbered}) numbered WHERE key_occurrence = 2 LIMIT 5"

    def _refuse_duplicates(self, cursor: Any, source: str | None = None) -> None:
        cursor.execute(self._duplicate_keys_sql(source))
        duplicates = [tuple(row) for row in cursor.fetchall()]  # the driver gives lists
        if duplicates:
            raise DuplicateKeyError(
                f"The SELECT for {self.table} returned several rows for key "
                f"{self.key} values {duplicates}; a dimension needs one row per key."
            )

    def execute(self, context: Context) -> int:
        window = run_window(context)
        parameters = window.sql_parameters()
        written = 0
        with transaction(self.get_db_hook()) as cursor:
            for statement in self.build_statements():
                count = execute(cursor, statement, parameters)
                if statement.startswith(f"INSERT INTO {quote_table(self.table)}"):
                    written = count
                if self.mode == "merge" and statement.startswith("CREATE TEMPORARY"):
                    self._refuse_duplicates(cursor)
            if self.mode != "merge" and self.key:
                self._refuse_duplicates(cursor, quote_table(self.table))
        self.log.info("Window %s: %s wrote %d rows to %s", window, self.mode, written, self.table)
        self._lineage_rows = written
        return written

    def build_lineage(self, with_schemas: bool = True):
        """OpenLineage: the tables the SELECT (and ``post_sql``) read, and the tables written, with their schemas; the
        dimension is marked OVERWRITE by ``truncate-insert``."""
        from sparkify import lineage

        return lineage.table_lineage(
            self.redshift_conn_id,
            self.build_statements(),
            [self.table],
            rows={self.table: getattr(self, "_lineage_rows", None)},
            temporary=[split_table_name(self.table)[1] + "_merge_stage"],
            overwritten=[self.table] if self.mode == "truncate-insert" else [],
            with_schemas=with_schemas,
        )
