"""LoadFactOperator: replace a fact table's rows for the run's window, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowFailException

from sparkify.identifiers import quote_identifier, quote_table, validate_identifier
from sparkify.operators.warehouse_operator import WarehouseOperator
from sparkify.warehouse import execute, transaction
from sparkify.window import run_window

if TYPE_CHECKING:
    from airflow.sdk import Context


class LoadFactOperator(WarehouseOperator):
    """
    Load the fact rows of the run's window, replacing any rows already loaded for it.

    The delete and the insert run in one transaction, so a rerun or a retry of the same
    window gives the same table. The SQL may use ``%(window_start)s`` and ``%(window_end)s``.

    :param table: Fact table, ``table`` or ``schema.table``. (templated)
    :param sql: SELECT producing the table's columns in order, or a ``.sql`` file. (templated)
    :param time_column: Column that places a row in a window.
    :param skipped_rows_sql: Optional query counting source rows the SELECT skips on purpose;
        the count is logged and returned. (templated)
    :param source_rows_sql: Optional query returning two counts, the rows of the source (e.g. the
        staged day file) and those of them in the run's window; both are logged: "N source rows
        staged, M in the window ...". (templated)
    :param redshift_conn_id: Warehouse connection. (templated)
    """

    template_fields: Sequence[str] = ("table", "sql", "skipped_rows_sql", "source_rows_sql", "redshift_conn_id")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "skipped_rows_sql": "sql", "source_rows_sql": "sql"}
    ui_color = "#F98866"

    def __init__(
        self,
        *,
        table: str,
        sql: str,
        time_column: str = "start_time",
        skipped_rows_sql: str | None = None,
        source_rows_sql: str | None = None,
        redshift_conn_id: str = "redshift",
        **kwargs,
    ) -> None:
        super().__init__(redshift_conn_id=redshift_conn_id, **kwargs)
        self.table = table
        self.sql = sql
        self.time_column = validate_identifier(time_column, "time column")
        self.skipped_rows_sql = skipped_rows_sql
        self.source_rows_sql = source_rows_sql
        if "{{" not in table:
            quote_table(table)

    def build_statements(self) -> list[str]:
        """The delete of the window's rows, then the insert."""
        table, column = quote_table(self.table), quote_identifier(self.time_column)
        return [
            f"DELETE FROM {table} WHERE {column} >= %(window_start)s AND {column} < %(window_end)s",
            f"INSERT INTO {table}\n{self.sql}",
        ]

    def execute(self, context: Context) -> dict[str, int]:
        window = run_window(context)
        parameters = window.sql_parameters()
        delete, insert = self.build_statements()
        with transaction(self.get_db_hook()) as cursor:
            deleted = execute(cursor, delete, parameters)
            inserted = execute(cursor, insert, parameters)
            skipped = 0
            if self.skipped_rows_sql:
                execute(cursor, self.skipped_rows_sql, parameters)
                skipped = int(cursor.fetchone()[0])
            if self.source_rows_sql:
                execute(cursor, self.source_rows_sql, parameters)
                row = cursor.fetchone()
                if row is None or len(row) != 2:
                    raise AirflowFailException(  # the SQL file is wrong: a retry reads the same file
                        f"source_rows_sql must return one row of two counts (staged, in the window), not {row!r}."
                    )
                staged, in_window = (int(n) for n in row)
                self.log.info("%d source rows staged, %d in the %s", staged, in_window, window.note())
        self.log.info("Window %s: replaced %d rows of %s with %d rows", window, deleted, self.table, inserted)
        if skipped:
            self.log.warning("Window %s: skipped %d source rows (skipped_rows_sql)", window, skipped)
        self._lineage_rows = inserted
        return {"inserted": inserted, "deleted": deleted, "skipped": skipped}

    def build_lineage(self, with_schemas: bool = True):
        """OpenLineage: the tables the SELECT reads, and the fact table it writes (its schema, the rows inserted)."""
        from sparkify import lineage

        return lineage.table_lineage(
            self.redshift_conn_id,
            self.build_statements(),
            [self.table],
            rows={self.table: getattr(self, "_lineage_rows", None)},
            with_schemas=with_schemas,
        )
