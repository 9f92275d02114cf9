"""PublishOperator: apply a run's audited shadow tables to the published tables in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sparkify.identifiers import quote_identifier, quote_table, validate_identifier
from sparkify.operators.warehouse_operator import WarehouseOperator
from sparkify.warehouse import SerializationRetries, execute, run_transaction
from sparkify.window import run_window

if TYPE_CHECKING:
    from airflow.sdk import Context


@dataclass(frozen=True)
class Publication:
    """
    How one published table takes the rows of its run's shadow copy (Write-Audit-Publish).

    Exactly one of ``window_column`` (a fact: the window's rows are replaced by the shadow's)
    and ``key`` (a dimension: the shadow's rows replace the rows with their key, others are
    kept) is given. ``shadow`` may be a Jinja template such as
    ``{{ run_scoped('users', run_id) }}``. ``condition`` (merge only) is SQL that a shadow row,
    aliased ``shadow``, must satisfy at publish time, under the locks, to be published, or a
    ``.sql`` file holding it. ``key_in_window`` (a merge on one column whose values lie in the
    run's window, such as ``time.start_time``): the merge touches only the window's range of the
    table, so it reads the window's rows through the sort key, not the whole table.
    """

    table: str
    shadow: str
    window_column: str | None = None
    key: tuple[str, ...] | str = ()  # one column may be given as a str: __post_init__ makes it a tuple
    condition: str | None = None
    key_in_window: bool = False

    def __post_init__(self) -> None:
        quote_table(self.table)
        if "{{" not in self.shadow:
            quote_table(self.shadow)
        if isinstance(self.key, str):
            object.__setattr__(self, "key", (self.key,))
        if (self.window_column is None) == (not self.key):
            raise ValueError(f"Publication of {self.table}: give either window_column (a fact) or key (a dimension).")
        for column in (*self.key, *([self.window_column] if self.window_column else [])):
            validate_identifier(column, "column")
        if self.condition and self.window_column:
            raise ValueError(f"Publication of {self.table}: a condition applies to merges only.")
        if self.key_in_window and len(self.key) != 1:
            raise ValueError(f"Publication of {self.table}: key_in_window needs a merge on one column.")

    @property
    def is_fact(self) -> bool:
        return self.window_column is not None


class PublishOperator(WarehouseOperator):
    """
    Publish a run's audited shadow tables: one transaction that locks every target table in the
    given order, replaces each fact's window, merges each dimension, and runs ``post_sql``.

    Nothing is visible to readers before the commit, and all of it is visible after. Every run
    locks the same tables in the same order (``publications``, then ``lock_also``), so concurrent
    publishes queue one behind another and never deadlock. Rerunning it gives the same tables.

    :param publications: The published tables, in lock order, each a ``Publication``.
    :param post_sql: Statements run last in the same transaction, or a ``.sql`` file, e.g. to
        record what was published. (templated)
    :param lock_also: Tables ``post_sql`` writes, locked after the published tables.
    :param redshift_conn_id: Warehouse connection. (templated)
    """

    template_fields: Sequence[str] = ("post_sql", "redshift_conn_id")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"post_sql": "sql"}
    ui_color = "#E8A33D"

    def __init__(
        self,
        *,
        publications: Sequence[Publication],
        post_sql: str | None = None,
        lock_also: Sequence[str] = (),
        redshift_conn_id: str = "redshift",
        **kwargs,
    ) -> None:
        super().__init__(redshift_conn_id=redshift_conn_id, **kwargs)
        self.publications = tuple(publications)
        if not self.publications:
            raise ValueError("PublishOperator needs at least one publication.")
        tables = [p.table for p in self.publications] + list(lock_also)
        for table in tables:
            quote_table(table)
        if len(set(tables)) != len(tables):
            raise ValueError(f"Each table is published or locked once: {tables}")
        self.lock_also = tuple(lock_also)
        self.post_sql = post_sql

    @property
    def lock_order(self) -> list[str]:
        """The tables the publish locks, in the order it locks them."""
        return [p.table for p in self.publications] + list(self.lock_also)

    def build_statements(self, publications: Sequence[Publication] | None = None) -> list[str]:
        """Every statement of the publish transaction, in order (shadow names as given)."""
        from sparkify.ddl import split_statements  # sqlparse: a task-time import

        statements = [f"LOCK TABLE {quote_table(t)}" for t in self.lock_order]
        for p in publications or self.publications:
            table = quote_table(p.table)
            shadow = p.shadow if "{{" in p.shadow else quote_table(p.shadow)  # unrendered: as given
            if p.window_column is not None:  # a fact
                in_window = _in_window(quote_identifier(p.window_column))
                statements += [
                    f"DELETE FROM {table} WHERE {in_window}",
                    f"INSERT INTO {table} SELECT * FROM {shadow} WHERE {in_window}",
                ]
                continue
            on = " AND ".join(f"{table}.{quote_identifier(k)} = shadow.{quote_identifier(k)}" for k in p.key)
            deleted, inserted = [], []
            if p.key_in_window:  # the published side through its sort key; the shadow's rows outside are not merged
                key = quote_identifier(p.key[0])
                deleted, inserted = [_in_window(f"{table}.{key}")], [_in_window(f"shadow.{key}")]
            if p.condition:
                deleted.append(f"({p.condition.strip()})")
                inserted.append(f"({p.condition.strip()})" if inserted else p.condition.strip())
            condition = "".join(f" AND {c}" for c in deleted)
            where = f" WHERE {' AND '.join(inserted)}" if inserted else ""
            statements += [
                f"DELETE FROM {table} USING {shadow} shadow WHERE {on}{condition}",
                f"INSERT INTO {table} SELECT * FROM {shadow} shadow{where}",
            ]
        return statements + (split_statements(self.post_sql) if self.post_sql else [])

    def _rendered(self, context: Context) -> list[Publication]:
        """The publications with their shadow names and conditions rendered for this run."""
        from sparkify.ddl import split_statements

        rendered = []
        for p in self.publications:
            condition = self.render_template(p.condition, context) if p.condition else None  # SQL, or a .sql file
            condition = split_statements(condition)[0] if condition else None  # without comments
            rendered.append(replace(p, shadow=self.render_template(p.shadow, context), condition=condition))
        return rendered

    def execute(self, context: Context) -> dict[str, int]:
        window = run_window(context)
        parameters = window.sql_parameters()
        publications = self._rendered(context)
        self._lineage_publications = publications
        statements = self.build_statements(publications)

        def publish(cursor) -> dict[str, int]:
            counts: dict[str, int] = {}
            for statement in statements:
                count = execute(cursor, statement, parameters)
                for p in publications:
                    if statement.startswith(f"INSERT INTO {quote_table(p.table)} "):
                        counts[p.table] = count
            return counts

        # The locks serialize publishes; a 1023 (e.g. with a writer that does not lock) retries the whole publish.
        retries = SerializationRetries()
        hook = self.get_db_hook()
        counts = run_transaction(hook, publish, f"{self.task_id} (window {window})", retries=retries, logger=self.log)
        if retries.count:
            self.log.warning("%s", retries.summary())
        self.log.info(
            "Window %s: published %s (locked in order %s)",
            window,
            ", ".join(f"{n} rows to {t}" for t, n in counts.items()),
            ", ".join(self.lock_order),
        )
        self._lineage_counts = counts
        return counts

    def build_lineage(self, with_schemas: bool = True):
        """OpenLineage: the shadow tables (and whatever conditions and ``post_sql`` read) as inputs; the published
        tables (with the rows each received) and the tables ``post_sql`` writes as outputs."""
        from sparkify import lineage

        publications = getattr(self, "_lineage_publications", None)  # None: it failed before rendering them
        statements = self.build_statements(publications) if publications else []
        return lineage.table_lineage(
            self.redshift_conn_id,
            statements,
            [p.table for p in self.publications],
            rows=getattr(self, "_lineage_counts", None),
            with_schemas=with_schemas,
        )


def _in_window(column: str) -> str:
    return f"{column} >= %(window_start)s AND {column} < %(window_end)s"
