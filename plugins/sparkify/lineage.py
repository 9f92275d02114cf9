"""OpenLineage datasets and facets for the Sparkify operators, named as the Amazon provider names them.

S3 data is ``s3://<bucket>`` with the key or prefix as its name; warehouse tables are
``redshift://<cluster>.<region>:<port>`` (or ``<host>:<port>``, as RedshiftSQLHook derives it from the
connection, never with its login or password) with ``<database>.<schema>.<table>`` as the name.
Everything imports the OpenLineage provider lazily, so it stays optional: these functions run only
in the provider's listener, when a transport is configured (docs/lineage.md).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_SCHEMA = "public"
_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s")
log = logging.getLogger(__name__)

# How each kind of check in include/quality_checks.yaml is classified in an OpenLineage assertion.
ASSERTION_TYPES = {
    "null_check": "not_null",
    "unique_check": "unique",
    "row_count": "row_count",
    "min": "min",
    "max": "max",
    "accepted_values": "accepted_values",
    "referential": "relationships",
    "freshness": "freshness",
    "reconciliation": "reconciliation",
    "custom": "custom_sql",
}


def never_raises(method: Callable) -> Callable:
    """Wrap a lineage method so that lineage can never fail a task: any error is logged as a
    warning and the task reports no lineage."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # lineage is best effort, whatever went wrong
            self.log.warning("OpenLineage facets of %s not built: %s: %s", self.task_id, type(error).__name__, error)
            return None

    return wrapper


class ReportsLineage:
    """Mixin: the OpenLineage provider's hooks, for an operator with ``build_lineage(with_schemas)``.

    On success the tables' schemas come from one catalog query; on failure they are left out,
    because the warehouse may be why the task failed (and the hook retries a refused connection
    for longer than the listener waits)."""

    def build_lineage(self, with_schemas: bool = True):
        """The task's OperatorLineage; each operator defines it."""
        raise NotImplementedError

    @never_raises
    def get_openlineage_facets_on_start(self):
        """Nothing before the task runs: the tables are reported when it ends. (This also keeps common-sql's
        SQL parser, which BaseSQLOperator would run here, off the task's templates.)"""
        from airflow.providers.openlineage.extractors import OperatorLineage

        return OperatorLineage()

    @never_raises
    def get_openlineage_facets_on_complete(self, task_instance):
        return self.build_lineage(with_schemas=True)

    @never_raises
    def get_openlineage_facets_on_failure(self, task_instance):
        return self.build_lineage(with_schemas=False)


@dataclass(frozen=True)
class Warehouse:
    """Where the warehouse's tables live, as OpenLineage names them."""

    namespace: str
    database: str | None
    schema: str = DEFAULT_SCHEMA

    @classmethod
    def from_connection(cls, conn_id: str) -> Warehouse:
        """The namespace and database of the Redshift connection `conn_id` (host and port only)."""
        from sparkify.warehouse import warehouse_hook

        hook = warehouse_hook(conn_id)
        info = hook.get_openlineage_database_info(hook.get_connection(conn_id))
        authority = str(info.authority).rpartition("@")[2]  # never a user or password, whatever the host holds
        return cls(namespace=f"{info.scheme}://{authority}", database=info.database or None)

    def qualified(self, table: str) -> tuple[str, str]:
        """(schema, table) of a name given as ``table``, ``schema.table`` or ``database.schema.table``."""
        parts = str(table).replace('"', "").split(".")
        return (parts[-2] if len(parts) > 1 else self.schema), parts[-1]

    def name(self, table: str) -> str:
        return ".".join(p for p in (self.database, *self.qualified(table)) if p)

    def input(self, table: str, facets: Mapping | None = None, input_facets: Mapping | None = None):
        from airflow.providers.common.compat.openlineage.facet import InputDataset

        return InputDataset(
            namespace=self.namespace,
            name=self.name(table),
            facets=dict(facets or {}),
            inputFacets=dict(input_facets or {}),
        )

    def output(self, table: str, facets: Mapping | None = None, output_facets: Mapping | None = None):
        from airflow.providers.common.compat.openlineage.facet import OutputDataset

        return OutputDataset(
            namespace=self.namespace,
            name=self.name(table),
            facets=dict(facets or {}),
            outputFacets=dict(output_facets or {}),
        )


def s3_input(bucket: str, key: str):
    """An S3 key or prefix, as S3ToRedshiftOperator reports its source."""
    from airflow.providers.common.compat.openlineage.facet import InputDataset

    return InputDataset(namespace=f"s3://{bucket}", name=key)


def s3_output(bucket: str, key: str):
    """An S3 object a task writes (a selection's manifest)."""
    from airflow.providers.common.compat.openlineage.facet import OutputDataset

    return OutputDataset(namespace=f"s3://{bucket}", name=key)


def sql_tables(statements: Sequence[str]) -> tuple[list[str], list[str]]:
    """The tables `statements` read and write, in order (``table`` or ``schema.table``), by the
    OpenLineage SQL parser in Redshift's dialect. Placeholders are parsed as NULL, and no default
    schema is given: with one, the parser loses the tables read inside a CTE."""
    from airflow.providers.openlineage.sqlparser import SQLParser

    sql = [_PLACEHOLDER.sub("NULL", s) for s in statements if isinstance(s, str) and s.strip()]
    meta = SQLParser(dialect="redshift").parse(sql) if sql else None
    if meta is None:
        return [], []

    def names(tables) -> list[str]:
        return list(dict.fromkeys(f"{t.schema}.{t.name}" if t.schema else t.name for t in tables))

    return names(meta.in_tables), names(meta.out_tables)


def schema_facets(conn_id: str | None, warehouse: Warehouse, tables: Iterable[str]) -> dict[str, Any]:
    """The SchemaDatasetFacet of each of `tables` that exists, by one catalog query; {} when it fails
    or without a connection."""
    from airflow.providers.common.compat.openlineage.facet import SchemaDatasetFacet, SchemaDatasetFacetFields

    from sparkify.warehouse import warehouse_hook

    wanted = {warehouse.qualified(t): t for t in tables}
    if not wanted or not conn_id:
        return {}
    pairs = " OR ".join(["(table_schema = %s AND table_name = %s)"] * len(wanted))
    sql = (
        f"SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        f"WHERE {pairs} ORDER BY table_schema, table_name, ordinal_position"
    )
    try:
        rows = warehouse_hook(conn_id).get_records(sql, parameters=[p for pair in wanted for p in pair])
    except Exception as error:  # the datasets are still worth reporting without their schema
        log.warning("OpenLineage: no schema facets (%s: %s)", type(error).__name__, error)
        return {}
    fields: dict[str, list] = {}
    for schema, table, column, data_type in rows or []:
        if (schema, table) in wanted:
            fields.setdefault(wanted[(schema, table)], []).append(SchemaDatasetFacetFields(name=column, type=data_type))
    return {table: SchemaDatasetFacet(fields=columns) for table, columns in fields.items()}


def dataset_facets(schemas: Mapping[str, Any], table: str, overwrite: bool = False) -> dict[str, Any]:
    """The dataset facets of `table`: its schema when known, and OVERWRITE when the load replaces it."""
    facets: dict[str, Any] = {}
    if table in schemas:
        facets["schema"] = schemas[table]
    if overwrite:
        from airflow.providers.common.compat.openlineage.facet import (
            LifecycleStateChange,
            LifecycleStateChangeDatasetFacet,
        )

        facets["lifecycleStateChange"] = LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=LifecycleStateChange.OVERWRITE
        )
    return facets


def row_count_facets(rows: Any) -> dict[str, Any]:
    """The output facet recording how many rows a task wrote, when `rows` is a count."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        return {}
    from airflow.providers.common.compat.openlineage.facet import OutputStatisticsOutputDatasetFacet

    return {"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=rows)}


def table_lineage(
    conn_id: str,
    statements: Sequence[str],
    written: Sequence[str] = (),
    rows: Mapping[str, Any] | None = None,
    temporary: Sequence[str] = (),
    overwritten: Sequence[str] = (),
    with_schemas: bool = True,
):
    """The lineage of SQL that moves rows between warehouse tables: the tables `statements` read and
    write (by the SQL parser), and `written`, with their schemas; `temporary` tables are left out.
    `rows` maps a written table to the rows the task wrote to it."""
    warehouse = Warehouse.from_connection(conn_id)
    read, wrote = sql_tables(statements)
    left_out = {warehouse.qualified(t) for t in temporary}

    def distinct(tables: Iterable[str]) -> list[str]:
        seen: dict[tuple[str, str], str] = {}
        for table in tables:
            seen.setdefault(warehouse.qualified(table), table)
        return [t for key, t in seen.items() if key not in left_out]

    inputs, outputs = distinct(read), distinct([*written, *wrote])
    schemas = schema_facets(conn_id if with_schemas else None, warehouse, [*inputs, *outputs])
    replaced = {warehouse.qualified(t) for t in overwritten}
    rows = rows or {}
    return operator_lineage(
        [warehouse.input(t, dataset_facets(schemas, t)) for t in inputs],
        [
            warehouse.output(
                t,
                dataset_facets(schemas, t, overwrite=warehouse.qualified(t) in replaced),
                row_count_facets(rows.get(t)),
            )
            for t in outputs
        ],
    )


def assertion(check: Any, result: Mapping[str, Any]):
    """The OpenLineage Assertion of one check (a ``SqlCheck``, or None) and its result (DataQualityOperator's dict)."""
    from openlineage.client.generated.data_quality_assertions_dataset import Assertion

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return Assertion(
        assertion=ASSERTION_TYPES.get(str(getattr(check, "kind", "")), "custom_sql"),
        success=result.get("passed") is True,
        column=getattr(check, "column", None),
        severity=text(result.get("severity")),
        name=str(result["name"]),
        description=text(result.get("description") or None),
        expected=text(result.get("expected")),
        actual=text(result.get("observed")),
        content=text(getattr(check, "sql", None)),
        contentType="sql" if getattr(check, "sql", None) else None,
    )


def assertions_by_table(checks: Sequence[Any], results: Sequence[Any]) -> dict[str | None, list]:
    """The assertions of `results`, grouped by the table their check audits (None: no table).
    Anything that is not a result with a name is skipped."""
    by_name = {getattr(c, "name", None): c for c in checks or ()}
    grouped: dict[str | None, list] = {}
    for result in results or ():
        if not isinstance(result, Mapping) or not result.get("name"):
            continue
        check = by_name.get(result["name"])
        table = getattr(check, "table", None) or result.get("table") or None
        grouped.setdefault(table if isinstance(table, str) else None, []).append(assertion(check, result))
    return grouped


def assertions_facet(assertions: list):
    from openlineage.client.generated.data_quality_assertions_dataset import DataQualityAssertionsDatasetFacet

    return DataQualityAssertionsDatasetFacet(assertions=assertions)


def tests_run_facet(assertions: list):
    """The run-level record of checks that audit no single table (as common-sql's check operators do)."""
    from openlineage.client.generated.test_run import TestExecution, TestRunFacet

    return TestRunFacet(
        tests=[
            TestExecution(
                name=a.name,
                status="pass" if a.success else "fail",
                severity=a.severity,
                type=a.assertion,
                description=a.description,
                expected=a.expected,
                actual=a.actual,
                content=a.content,
                contentType=a.contentType,
            )
            for a in assertions
        ]
    )


def operator_lineage(inputs: Sequence = (), outputs: Sequence = (), run_facets: Mapping | None = None):
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=list(inputs), outputs=list(outputs), run_facets=dict(run_facets or {}))
