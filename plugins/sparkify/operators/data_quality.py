"""DataQualityOperator: run every check, log each result, fail once listing all failures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sparkify.quality import SqlCheck
from sparkify.warehouse import execute, transaction, warehouse_hook
from sparkify.window import run_window

if TYPE_CHECKING:
    from airflow.sdk import Context


class DataQualityError(RuntimeError):
    """One or more data quality checks failed."""


class DataQualityOperator(BaseOperator):
    """
    Run SQL checks against the warehouse and fail if any of them fails.

    Each check's SQL returns one value, compared with its expected value by ``equal``,
    ``not_equal``, ``greater_than``, ``at_least``, ``less_than``, ``at_most`` or ``between``.
    Every check runs, every result is logged, and one error lists all failures, so that
    Airflow retries and then fails the task. The SQL may use ``%(window_start)s`` and
    ``%(window_end)s`` to scope a check to the run's window.

    :param checks: ``SqlCheck`` objects or mappings with ``name``, ``sql``, ``expected``,
        ``comparison`` and an optional ``description``.
    :param redshift_conn_id: Warehouse connection. (templated)
    """

    template_fields: Sequence[str] = ("redshift_conn_id",)
    ui_color = "#89DA59"

    def __init__(
        self,
        *,
        checks: Sequence[SqlCheck | Mapping[str, Any]],
        redshift_conn_id: str = "redshift",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.checks = [c if isinstance(c, SqlCheck) else SqlCheck.from_mapping(c) for c in checks]
        if not self.checks:
            raise ValueError("DataQualityOperator needs at least one check.")
        names = [c.name for c in self.checks]
        if len(set(names)) != len(names):
            raise ValueError(f"Check names must be unique: {names}")
        self.redshift_conn_id = redshift_conn_id

    def execute(self, context: Context) -> list[dict[str, Any]]:
        window = run_window(context)
        parameters = window.sql_parameters()
        results = []
        with transaction(warehouse_hook(self.redshift_conn_id)) as cursor:
            for check in self.checks:
                execute(cursor, check.sql, parameters)
                row = cursor.fetchone()
                observed = row[0] if row else None
                passed = check.passes(observed)
                self.log.info(
                    "%s %s: observed %r, expected %s",
                    "PASS" if passed else "FAIL", check.name, observed, check.describe_expectation(),
                )
                results.append({"name": check.name, "observed": _plain(observed), "passed": passed})
        failed = [(c, r) for c, r in zip(self.checks, results) if not r["passed"]]
        if failed:
            lines = "\n".join(
                f"- {c.name}: observed {r['observed']!r}, expected {c.describe_expectation()}"
                + (f" ({c.description})" if c.description else "")
                for c, r in failed
            )
            raise DataQualityError(f"{len(failed)} of {len(self.checks)} data quality checks failed for window {window}:\n{lines}")
        return results


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a query result, for XCom."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)
