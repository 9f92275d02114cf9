"""DataQualityOperator: run every check, record each result, fail once listing all failures."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from sparkify.identifiers import quote_table
from sparkify.notifications import notify_quality_warnings
from sparkify.operators.warehouse_operator import WarehouseOperator
from sparkify.quality_config import QualityChecksFile
from sparkify.report.link import QualityResultsLink
from sparkify.retry_policy import fail_fast
from sparkify.sql_check import SqlCheck
from sparkify.warehouse import (
    SerializationRetries,
    execute,
    insert_in_batches,
    retry_serialization,
    serialization_failure,
    transaction,
)
from sparkify.window import run_window

if TYPE_CHECKING:
    from airflow.sdk import Context

    from sparkify.window import RunWindow


# The columns of the results table (`dq_results` in create_tables.sql) that a run fills.
RESULT_COLUMNS = (
    "run_id",
    "window_start",
    "window_end",
    "check_name",
    "table_name",
    "observed",
    "expected",
    "passed",
    "severity",
    "checked_at",
)


class DataQualityError(AirflowFailException):
    """One or more data quality checks of severity `error` failed: the same SQL on the same data
    fails again, so Airflow fails the task at once instead of retrying it."""


class DataQualityOperator(WarehouseOperator):
    """
    Run SQL checks against the warehouse; fail if any check of severity ``error`` fails.

    Each check's SQL returns one value, compared with its expected value by ``equal``,
    ``not_equal``, ``greater_than``, ``at_least``, ``less_than``, ``at_most`` or ``between``.
    Every check runs and every result is logged and written to ``results_table``; then one
    error (``DataQualityError``, an ``AirflowFailException``) lists all failed checks with
    observed and expected values and fails the task without retries. Failed ``warn`` checks are
    logged, recorded and e-mailed when alerts are on (``sparkify.notifications``). The SQL may
    use ``%(window_start)s`` and ``%(window_end)s`` to scope a check to the run's window.
    With ``results_page_location``, the results are also written, before any failure is raised, as
    one HTML page per run next to the report (``sparkify.quality_page``; best effort: a page that
    cannot be written is a warning), its S3 URI goes to XCom (key ``quality_results``) and the
    task's "Quality results" extra link opens it.

    :param checks: ``SqlCheck`` objects, or mappings with ``name``, ``sql``, ``expected``,
        ``comparison`` and optionally ``description``, ``table``, ``severity``; or a
        ``QualityChecksFile``, compiled when the task runs (a declaration that cannot be compiled
        fails the task without retries).
    :param results_table: Table that receives one row per check and run, or None.
    :param read_order: Tables the checks read, touched first in this order, so that the audit takes
        its shared locks in the order a publish takes its exclusive ones (no lock cycle).
    :param redshift_conn_id: Warehouse connection. (templated)
    :param results_page_location: The report location (an ObjectStoragePath URL, as the Variable
        ``sparkify_report_location``) under whose ``quality/`` folder the run's page goes; None: no page.
        (templated)
    :param aws_conn_id: AWS connection for that location, unless its URL names one. (templated)
    """

    template_fields: Sequence[str] = ("redshift_conn_id", "results_page_location", "aws_conn_id")
    ui_color = "#89DA59"
    operator_extra_links = (QualityResultsLink(),)

    def __init__(
        self,
        *,
        checks: Sequence[SqlCheck | Mapping[str, Any]] | QualityChecksFile,
        results_table: str | None = "dq_results",
        read_order: Sequence[str] = (),
        redshift_conn_id: str = "redshift",
        results_page_location: str | None = None,
        aws_conn_id: str = "aws_default",
        **kwargs,
    ) -> None:
        super().__init__(redshift_conn_id=redshift_conn_id, **kwargs)
        self.results_page_location = results_page_location
        self.aws_conn_id = aws_conn_id
        self.checks_file: QualityChecksFile | None
        if isinstance(checks, QualityChecksFile):
            self.checks_file, self._checks = checks, None  # read when the task runs
        else:
            self.checks_file, self._checks = (
                None,
                _validated([c if isinstance(c, SqlCheck) else SqlCheck.from_mapping(c) for c in checks]),
            )
        if results_table is not None:
            quote_table(results_table)
        self.results_table = results_table
        self.read_order = tuple(read_order)
        for table in self.read_order:
            quote_table(table)

    @property
    def checks(self) -> list[SqlCheck]:
        """The checks; from a `QualityChecksFile`, compiled on first use (CheckConfigError if it cannot be)."""
        if self._checks is None:
            assert self.checks_file is not None  # set whenever _checks is not
            self._checks = _validated(self.checks_file.load())
        return self._checks

    def execute(self, context: Context) -> list[dict[str, Any]]:
        window = run_window(context)
        with fail_fast("Bad data quality checks", ValueError, FileNotFoundError):  # a retry reads the same files
            checks = self.checks
        hook = self.get_db_hook()
        checks = [self._rendered(check, context) for check in checks]

        parameters = window.sql_parameters()
        together = one_statement(checks, parameters)

        def audit(statement: tuple[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
            # one transaction, retried whole after a serialization failure
            with transaction(hook) as cursor:
                for table in self.read_order:
                    cursor.execute(f"SELECT 1 FROM {quote_table(table)} WHERE FALSE")
                if statement is None:
                    values = [_observe(cursor, check, parameters) for check in checks]
                else:
                    values = _split_row(checks, _row(cursor, *statement))
            return [self._result(check, observed, expected) for check, (observed, expected) in zip(checks, values)]

        retries = SerializationRetries()
        what = f"{self.task_id} (window {window})"
        try:
            results = retry_serialization(lambda: audit(together), what, hook=hook, retries=retries, logger=self.log)
        except Exception as error:
            if together is None or serialization_failure(error) is not None:
                raise
            # one check's SQL failed: run them one by one, so the error names it
            self.log.warning(
                "The checks as one statement failed (%s: %s); running them one by one",
                type(error).__name__,
                (str(error).splitlines() or [""])[0][:200],
            )
            results = retry_serialization(lambda: audit(None), what, hook=hook, retries=retries, logger=self.log)
        self._lineage_results = checks, results  # reported on success and on failure alike
        if self.results_table:
            retry_serialization(
                lambda: self._record(hook, context.get("run_id"), window, results),
                f"{self.task_id}: recording the results in {self.results_table}",
                hook=hook,
                retries=retries,
                logger=self.log,
            )
        if retries.count:
            self.log.warning("%s", retries.summary())
        self._write_page(context, window, checks, results)  # before a failure is raised: the page shows it
        failed = [r for r in results if not r["passed"]]
        errors = [r for r in failed if r["severity"] == "error"]
        notify_quality_warnings(context, [r for r in failed if r["severity"] == "warn"])  # best effort, never raises
        if errors:
            lines = "\n".join(
                f"- {r['name']} ({r['table'] or 'custom'}): observed {r['observed']!r}, expected {r['expected']}"
                + (f" ({r['description']})" if r["description"] else "")
                for r in errors
            )
            raise DataQualityError(
                f"{len(errors)} of {len(checks)} data quality checks failed for window {window}:\n{lines}"
            )
        return results

    def build_lineage(self, with_schemas: bool = True):
        """OpenLineage: each check's result as a data-quality assertion on the table it audits (a check of no table
        goes to the run's test facet), and the results table as output. Also used when checks failed."""
        from sparkify import lineage

        checks, results = getattr(self, "_lineage_results", (self.checks, []))
        grouped = lineage.assertions_by_table(checks, results)
        run_level = grouped.pop(None, [])
        warehouse = lineage.Warehouse.from_connection(self.redshift_conn_id)
        inputs = [
            warehouse.input(table, input_facets={"dataQualityAssertions": lineage.assertions_facet(assertions)})
            for table, assertions in grouped.items()
            if table is not None
        ]
        outputs = (
            [warehouse.output(self.results_table, output_facets=lineage.row_count_facets(len(results)))]
            if self.results_table and results
            else []
        )
        run_facets = {"test": lineage.tests_run_facet(run_level)} if run_level else {}
        return lineage.operator_lineage(inputs, outputs, run_facets)

    def _write_page(
        self, context: Context, window: RunWindow, checks: list[SqlCheck], results: list[dict[str, Any]]
    ) -> None:
        """The results as the run's HTML page next to the report, its S3 URI in XCom for the extra link."""
        if not self.results_page_location:
            return
        from sparkify.quality_page import XCOM_KEY, render_quality_page, write_quality_page

        run_id = str(context.get("run_id") or "run")
        try:
            page = render_quality_page(
                checks,
                results,
                dag_id=self.dag_id,
                run_id=run_id,
                window=window,
                generated_at=datetime.now(timezone.utc),
            )
            path = write_quality_page(str(self.results_page_location), str(self.aws_conn_id), run_id, page)
        except Exception as error:  # the page is a view of results already logged and recorded: never fail for it
            self.log.warning("Could not write the data quality page: %s: %s", type(error).__name__, error)
            return
        self.log.info("Data quality page: %s", path)
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=XCOM_KEY, value=str(path))

    def _rendered(self, check: SqlCheck, context: Context) -> SqlCheck:
        """The check with Jinja in its SQL rendered (e.g. run-scoped staging table names)."""
        if "{{" not in check.sql and "{{" not in (check.expected_sql or ""):
            return check
        return replace(
            check,
            sql=self.render_template(check.sql, context),
            expected_sql=self.render_template(check.expected_sql, context) if check.expected_sql else None,
        )

    def _result(self, check: SqlCheck, observed: Any, expected: Any) -> dict[str, Any]:
        passed = check.passes(observed, expected)
        described = check.describe_expectation(expected)
        level = "PASS" if passed else ("FAIL" if check.severity == "error" else "WARN")
        self.log.info("%s %s: observed %r, expected %s", level, check.name, observed, described)
        return {
            "name": check.name,
            "table": check.table,
            "observed": _plain(observed),
            "expected": described,
            "passed": passed,
            "severity": check.severity,
            "description": check.description,
        }

    def _record(self, hook, run_id: str | None, window, results: list[dict[str, Any]]) -> None:
        """Write the results in a transaction of their own, so they are kept when the task fails: one multi-row
        INSERT (a driver's executemany is a round trip per row)."""
        now = datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC
        bounds = window.sql_parameters()
        rows = [
            (
                run_id,
                bounds["window_start"],
                bounds["window_end"],
                r["name"],
                r["table"],
                None if r["observed"] is None else str(r["observed"]),
                r["expected"],
                bool(r["passed"]),
                r["severity"],
                now,
            )
            for r in results
        ]
        with transaction(hook) as cursor:
            insert_in_batches(cursor, str(self.results_table), RESULT_COLUMNS, rows)


def _validated(checks: list[SqlCheck]) -> list[SqlCheck]:
    if not checks:
        raise ValueError("DataQualityOperator needs at least one check.")
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise ValueError(f"Check names must be unique: {names}")
    return checks


def _observe(cursor: Any, check: SqlCheck, window_parameters: Mapping[str, Any]) -> tuple[Any, Any]:
    """The check's value and its expected value (from expected_sql, or None), one query each."""
    parameters = {**window_parameters, **check.parameters}
    observed = _row(cursor, check.sql, parameters)[0]
    expected = _row(cursor, check.expected_sql, parameters)[0] if check.expected_sql else None
    return observed, expected


def _row(cursor: Any, sql: str, parameters: Mapping[str, Any]) -> tuple:
    execute(cursor, sql, parameters)
    row = cursor.fetchone()
    return tuple(row) if row else (None,)


_PLACEHOLDER = re.compile(r"%\(\w+\)s")


def one_statement(checks: Sequence[SqlCheck], window_parameters: Mapping[str, Any]) -> tuple[str, dict] | None:
    """Every check's query (and expected query) as one scalar subquery of a single SELECT, and its parameters:
    one round trip instead of one per query. None when they cannot share one statement: two checks give one
    parameter different values, or a query has a literal % (it would be read as a placeholder)."""
    parameters: dict[str, Any] = dict(window_parameters)
    parts = []
    for check in checks:
        for name, value in check.parameters.items():
            if name in parameters and (type(parameters[name]), parameters[name]) != (type(value), value):
                return None  # 1, 1.0 and True are equal in Python, not in SQL
            parameters[name] = value
        for sql in (check.sql, check.expected_sql):
            if not sql:
                continue
            if "%" in _PLACEHOLDER.sub("", sql):
                return None
            parts.append("(\n" + sql.strip().rstrip(";").rstrip() + "\n)")  # a trailing -- comment ends at \n
    return "SELECT " + ",\n".join(parts), parameters


def _split_row(checks: Sequence[SqlCheck], row: tuple) -> list[tuple[Any, Any]]:
    """one_statement's row as (observed, expected) per check."""
    values, position = [], 0
    for check in checks:
        observed = row[position]
        expected = row[position + 1] if check.expected_sql else None
        position += 2 if check.expected_sql else 1
        values.append((observed, expected))
    return values


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a query result, for XCom."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)
