"""Declarative data quality checks (include/quality_checks.yaml), compiled into SqlChecks.

The vocabulary follows common-sql's SQLColumnCheckOperator and SQLTableCheckOperator:
column checks `min` and `max` reuse its SQL templates (`null_check` counts with an `IS NULL`
filter, so that an index or sort key serves it; `unique_check` numbers the rows of each value,
because Redshift may skip a DISTINCT over a declared key), and
expectations are written `{equal_to | greater_than | geq_to | less_than | leq_to, tolerance}`.
Every table, column and identifier is checked against the warehouse DDL when the checks are compiled:
when the audit task runs (`QualityChecksFile`), and before any run in the DAG-integrity tests.
Parsing the DAG reads no file: YAML, the DDL and the SQL are read by the task.

Write-Audit-Publish: given the DAG's publications (`sparkify.operators.publish.Publication`), a
check of a published table audits what publishing would produce, and only the part of it that the
run can change, so that its cost does not grow with history: `scope: window` reads the window's
rows (a fact's are exactly its shadow; a dimension's are the published rows in the window that the
shadow does not replace, plus the shadow), `scope: run` the rows the run writes (its shadow). A
referential check looks each key up in the published table and in its shadow, through the key
column. No check of the `checks` list reads the whole of a published table (`scope: all` is refused,
but for a row count with only a lower bound, counted up to that bound): such checks are declared
under `audit_checks`, the daily whole-table audit, compiled without publications (`section`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Number
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkify.identifiers import quote_identifier, validate_identifier
from sparkify.sql_check import SEVERITIES, SqlCheck

if TYPE_CHECKING:
    from sparkify.operators.publish import Publication

COLUMN_KINDS = {"null_check": "null_check", "unique_check": "unique_check", "min": "min", "max": "max"}
KINDS = ("row_count", *COLUMN_KINDS, "accepted_values", "referential", "freshness", "reconciliation", "custom")
EXPECTATION_KEYS = ("equal_to", "greater_than", "geq_to", "less_than", "leq_to", "tolerance")
_ZERO = {"equal_to": 0}
_REQUIRED = {
    "row_count": ("table", "expect"),
    "null_check": ("table", "column"),
    "unique_check": ("table", "column"),
    "min": ("table", "column", "expect"),
    "max": ("table", "column", "expect"),
    "accepted_values": ("table", "column", "values"),
    "referential": ("table", "column", "references"),
    "freshness": ("table", "source_table"),
    "reconciliation": ("table", "source_sql"),
    "custom": ("sql", "expect"),
}
_OPTIONAL = {"name", "kind", "description", "severity", "scope", "expect", "allow_null", "source_filter"}
SCOPES = ("window", "run", "all")
# The YAML's two lists: the hourly audit before publish, and the daily whole-table audit.
SECTIONS = ("checks", "audit_checks")


class CheckConfigError(ValueError):
    """A check declaration that cannot be used; the message names the check and the problem."""


@dataclass(frozen=True)
class QualityChecksFile:
    """Checks declared in a YAML file, compiled by `load()` when the audit task runs, not when the DAG is parsed."""

    path: Path
    sql_dir: Path
    ddl_path: Path
    publications: tuple[Publication, ...] = ()
    section: str = "checks"

    def load(self) -> list[SqlCheck]:
        return load_quality_checks(self.path, self.sql_dir, self.ddl_path, self.publications, self.section)


def load_quality_checks(
    path: Path,
    sql_dir: Path,
    ddl_path: Path,
    publications: Sequence[Publication] = (),
    section: str = "checks",
) -> list[SqlCheck]:
    """Read and validate the checks of `section` ("checks" or "audit_checks") against the schema in `ddl_path`.

    With `publications`, checks of the published tables audit their run's shadow copies (see above).
    `audit_checks` read the published tables whole (default scope `all`), without publications.
    """
    import yaml  # a task-time import: parsing the DAG does not need it

    from sparkify.ddl import table_columns

    try:
        # libyaml's loader when PyYAML has it: the same documents and errors, a tenth of the CPU
        document = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise CheckConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("checks"), list):
        raise CheckConfigError(f"{path} must hold a mapping with a 'checks' list.")
    if not isinstance(document.get("audit_checks", []), list):
        raise CheckConfigError(f"{path}: 'audit_checks' must be a list.")
    if section not in SECTIONS:
        raise CheckConfigError(f"{path}: no section {section!r}; use one of {', '.join(SECTIONS)}.")
    if section == "audit_checks" and publications:
        raise CheckConfigError(f"{path}: audit_checks read the published tables, not a run's shadows.")
    compiler = _Compiler(
        path,
        sql_dir,
        table_columns(ddl_path.read_text()),
        document.get("window_columns") or {},
        document.get("run_scoped_tables") or [],
        publications,
        whole_tables=section == "audit_checks",
    )
    checks = [compiler.compile(entry) for entry in document.get(section) or []]
    # Unique across both lists: both record their results in dq_results under the check's name.
    names = [str(e.get("name")) for name in SECTIONS for e in document.get(name) or [] if isinstance(e, dict)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CheckConfigError(f"{path}: check names must be unique; repeated: {', '.join(duplicates)}.")
    return checks


def comparison_for(expect: Mapping[str, Any], where: str) -> tuple[str, Any]:
    """Translate a common-sql expectation into a (comparison, expected) pair."""
    if not isinstance(expect, Mapping) or not expect:
        raise CheckConfigError(f"{where}: 'expect' must be a mapping such as {{equal_to: 0}}.")
    unknown = set(expect) - set(EXPECTATION_KEYS)
    if unknown:
        raise CheckConfigError(f"{where}: unknown comparison {sorted(unknown)}; use {', '.join(EXPECTATION_KEYS)}.")
    for key, value in expect.items():
        if isinstance(value, bool) or not isinstance(value, Number):
            raise CheckConfigError(f"{where}: {key} must be a number, not {value!r}.")
    tolerance = expect.get("tolerance")
    if tolerance is not None and not 0 <= tolerance < 1:
        raise CheckConfigError(f"{where}: tolerance must be a fraction from 0 to 1, not {tolerance}.")
    bounds = {k: v for k, v in expect.items() if k != "tolerance"}
    if "equal_to" in bounds:
        if len(bounds) > 1:
            raise CheckConfigError(f"{where}: equal_to cannot be combined with other bounds.")
        value = bounds["equal_to"]
        if tolerance:
            margin = abs(value) * tolerance
            return "between", [value - margin, value + margin]
        return "equal", value
    if ("greater_than" in bounds and "geq_to" in bounds) or ("less_than" in bounds and "leq_to" in bounds):
        raise CheckConfigError(f"{where}: give one lower bound and one upper bound at most.")
    if tolerance:
        raise CheckConfigError(f"{where}: tolerance applies to equal_to only.")
    lower = [(k, v) for k, v in bounds.items() if k in ("greater_than", "geq_to")]
    upper = [(k, v) for k, v in bounds.items() if k in ("less_than", "leq_to")]
    if lower and upper:
        if lower[0][0] != "geq_to" or upper[0][0] != "leq_to" or lower[0][1] > upper[0][1]:
            raise CheckConfigError(f"{where}: a range needs geq_to <= leq_to.")
        return "between", [lower[0][1], upper[0][1]]
    key, value = (lower or upper)[0]
    return {"greater_than": "greater_than", "geq_to": "at_least", "less_than": "less_than", "leq_to": "at_most"}[
        key
    ], value


def _aliased(relation: str) -> str:
    """A relation for a FROM clause: a subquery gets the alias it needs."""
    return f"{relation} t" if relation.startswith("(") else relation


class _Compiler:
    def __init__(
        self,
        path: Path,
        sql_dir: Path,
        schema: dict[str, list[str]],
        window_columns: Mapping,
        run_scoped: list,
        publications: Sequence[Publication] = (),
        whole_tables: bool = False,
    ) -> None:
        self.path, self.sql_dir, self.schema = path, sql_dir, schema
        self.whole_tables = whole_tables  # audit_checks: every check reads whole tables unless it says otherwise
        self.run_scoped = set(run_scoped)
        self.published = {p.table: p for p in publications}
        for p in publications:
            if p.table not in schema:
                raise CheckConfigError(f"{path}: published table {p.table!r} is not in the warehouse DDL.")
        self.window_columns = {}
        for table, column in window_columns.items():
            self._column(table, column, f"{path}: window_columns")
            self.window_columns[table] = column

    def compile(self, entry: Any) -> SqlCheck:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise CheckConfigError(f"{self.path}: every check needs a name; got {entry!r}.")
        where = f"{self.path}: check {entry['name']!r}"
        validate_identifier(entry["name"], "check name")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise CheckConfigError(f"{where}: unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
        missing = [f for f in _REQUIRED[kind] if f not in entry]
        if missing:
            raise CheckConfigError(f"{where}: a {kind} check needs {', '.join(missing)}.")
        audited = {"table", "column"} if kind == "custom" else set()  # what a custom check audits, optional
        unknown = set(entry) - _OPTIONAL - set(_REQUIRED[kind]) - {"values", "references", "source_table", "source_sql"}
        unknown -= audited
        if unknown:
            raise CheckConfigError(f"{where}: unknown field(s) {sorted(unknown)}.")
        if entry.get("scope", "window") not in SCOPES:
            raise CheckConfigError(f"{where}: scope must be one of {', '.join(SCOPES)}.")
        severity = entry.get("severity", "error")
        if severity not in SEVERITIES:
            raise CheckConfigError(f"{where}: severity must be one of {SEVERITIES}.")
        if kind == "reconciliation":
            if "expect" in entry:
                raise CheckConfigError(f"{where}: a reconciliation compares with its source_sql; drop 'expect'.")
            comparison, expected = "equal", None
        else:
            comparison, expected = comparison_for(entry.get("expect", _ZERO), where)
        sql, parameters, expected_sql = getattr(self, f"_{kind}")(entry, where)
        return SqlCheck(
            name=entry["name"],
            sql=sql,
            expected=expected,
            comparison=comparison,
            description=entry.get("description", ""),
            table=entry.get("table"),
            severity=severity,
            parameters=parameters,
            expected_sql=expected_sql,
            accept_none=kind in ("min", "max"),
            kind=kind,
            column=entry.get("column"),
        )

    # -- helpers --------------------------------------------------------------------
    def _column(self, table: str, column: str, where: str) -> None:
        validate_identifier(table, "table name")
        validate_identifier(column, "column name")
        if table not in self.schema:
            raise CheckConfigError(f"{where}: table {table!r} is not in the warehouse DDL.")
        if column not in self.schema[table]:
            raise CheckConfigError(f"{where}: table {table!r} has no column {column!r}.")

    def _table(self, table: str, where: str) -> str:
        validate_identifier(table, "table name")
        if table not in self.schema:
            raise CheckConfigError(f"{where}: table {table!r} is not in the warehouse DDL.")
        if table in self.run_scoped:  # the run's own staging copy, named at run time
            return f"{{{{ run_scoped('{table}', run_id) }}}}"
        return quote_identifier(table)

    def _scope_kind(self, entry: dict, table: str) -> str:
        if "scope" in entry:
            return entry["scope"]
        if self.whole_tables:
            return "all"
        if table in self.window_columns:
            return "window"
        return "run" if table in self.published else "all"

    def _relation(self, entry: dict, table: str, where: str) -> str:
        """What a check reads for `table`: the table, or for a published table the part of what publishing
        would produce that its scope names (never the whole published table: see the module docstring)."""
        quoted = self._table(table, where)
        publication = self.published.get(table)
        if publication is None:
            return quoted
        scope = self._scope_kind(entry, table)
        if scope == "run":
            return publication.shadow
        if scope == "window" and publication.is_fact:
            if self.window_columns.get(table) != publication.window_column:
                raise CheckConfigError(f"{where}: {table}'s window column must be the one it is published by.")
            return publication.shadow  # the window's rows after publishing are exactly the shadow's
        if scope == "window":
            return self._merged(publication, quoted, self._scope(entry, table, where, alias="published."))
        raise CheckConfigError(
            f"{where}: scope {scope!r} would read all of the published table {table!r} on every run; declare "
            "the check under audit_checks (the daily whole-table audit), or give it scope window or run."
        )

    @staticmethod
    def _merged(publication: Publication, quoted: str, published_rows: str = "") -> str:
        """A dimension after publishing: its published rows (those matching `published_rows`, aliased
        `published`) whose key the shadow does not replace, and the shadow."""
        kept = " AND ".join(f"s.{quote_identifier(k)} = published.{quote_identifier(k)}" for k in publication.key)
        only = f"{published_rows} AND " if published_rows else ""
        return (
            f"(SELECT * FROM {quoted} published WHERE {only}NOT EXISTS (SELECT 1 FROM {publication.shadow} s "
            f"WHERE {kept}) UNION ALL SELECT * FROM {publication.shadow})"
        )

    def _scope(self, entry: dict, table: str, where: str, alias: str = "") -> str:
        if self._scope_kind(entry, table) != "window":
            return "TRUE"
        if table not in self.window_columns:
            raise CheckConfigError(f"{where}: table {table!r} has no entry in window_columns, so it cannot be scoped.")
        column = f"{alias}{quote_identifier(self.window_columns[table])}"
        return f"{column} >= %(window_start)s AND {column} < %(window_end)s"

    def _sql_file(self, name: str, where: str) -> str:
        path = self.sql_dir / name
        if not path.is_file():
            raise CheckConfigError(f"{where}: SQL file {path} does not exist.")
        return path.read_text()

    def _target(self, entry: dict, where: str) -> tuple[str, str]:
        self._column(entry["table"], entry["column"], where)
        return self._relation(entry, entry["table"], where), quote_identifier(entry["column"])

    # -- one method per kind: (sql, parameters, expected_sql) ---------------------------
    def _row_count(self, entry, where):
        table, scope = entry["table"], self._scope(entry, entry["table"], where)
        publication = self.published.get(table)
        if publication and not publication.is_fact and self._scope_kind(entry, table) == "all":
            comparison, bound = comparison_for(entry["expect"], where)
            if comparison in ("at_least", "greater_than"):  # a lower bound only: counting up to it decides
                limit = max(math.ceil(bound) if comparison == "at_least" else math.floor(bound) + 1, 0)
                rows = self._merged(publication, self._table(table, where))
                return f"SELECT COUNT(*) FROM (SELECT 1 FROM {rows} t LIMIT {limit}) counted", {}, None
        return f"SELECT COUNT(*) FROM {_aliased(self._relation(entry, table, where))} WHERE {scope}", {}, None

    def _column_check(self, kind, entry, where):
        from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator

        table, column = self._target(entry, where)
        statement = SQLColumnCheckOperator.column_checks[COLUMN_KINDS[kind]].format(column=column)
        return f"SELECT {statement} FROM {_aliased(table)} WHERE {self._scope(entry, entry['table'], where)}", {}, None

    def _null_check(self, entry, where):
        # common-sql's SUM(CASE ...) reads every row in scope; a filter on IS NULL lets an index
        # (locally) or the sort key's zone maps (Redshift) skip them, so scope: all stays cheap.
        table, column = self._target(entry, where)
        scope = self._scope(entry, entry["table"], where)
        return f"SELECT COUNT(*) FROM {_aliased(table)} WHERE ({scope}) AND {column} IS NULL", {}, None

    def _unique_check(self, entry, where):
        # Rows minus distinct values, as common-sql's template, but with no DISTINCT or GROUP BY over the
        # column: Redshift's planner trusts a declared key, so "a SELECT DISTINCT query might return
        # duplicate rows if the primary key is not unique" (t_Defining_constraints.html), and a grouping
        # by the key may as well be taken as one row per group. A row's number within its value is
        # computed from the rows read. Of a fact's window: the window's rows only; a key shared with
        # another window is for the whole-table audit (no sort or dist key leads from songplay_id to its rows).
        table, column = self._target(entry, where)
        scope = self._scope(entry, entry["table"], where)
        numbered = (
            f"SELECT ROW_NUMBER() OVER (PARTITION BY {column}) AS key_occurrence "
            f"FROM {_aliased(table)} WHERE ({scope}) AND {column} IS NOT NULL"
        )
        return f"SELECT COUNT(*) FROM ({numbered}) numbered WHERE key_occurrence > 1", {}, None

    def _min(self, entry, where):
        return self._column_check("min", entry, where)

    def _max(self, entry, where):
        return self._column_check("max", entry, where)

    def _accepted_values(self, entry, where):
        table, column = self._target(entry, where)
        values = entry["values"]
        if not isinstance(values, list) or not values or not all(isinstance(v, (str, int, float)) for v in values):
            raise CheckConfigError(f"{where}: values must be a non-empty list of literals.")
        parameters = {f"{entry['name']}_{i}": v for i, v in enumerate(values)}
        listed = ", ".join(f"%({p})s" for p in parameters)
        nulls = f"{column} IS NOT NULL AND " if entry.get("allow_null", False) else f"{column} IS NULL OR "
        scope = self._scope(entry, entry["table"], where)
        return (
            f"SELECT COUNT(*) FROM {_aliased(table)} WHERE ({scope}) AND ({nulls}{column} NOT IN ({listed}))",
            parameters,
            None,
        )

    def _referential(self, entry, where):
        table, column = self._target(entry, where)
        references = entry["references"]
        if not (isinstance(references, dict) and set(references) == {"table", "column"}):
            raise CheckConfigError(f"{where}: references needs exactly a table and a column.")
        self._column(references["table"], references["column"], where)
        key = quote_identifier(references["column"])
        publication = self.published.get(references["table"])
        if publication is None:
            parents = [self._table(references["table"], where)]
        elif publication.is_fact:
            raise CheckConfigError(f"{where}: a key cannot be looked up in the fact {references['table']!r} hourly.")
        else:  # a merge keeps every published key and adds the shadow's: each looked up by its key column
            parents = [self._table(references["table"], where), publication.shadow]
        scope = self._scope(entry, entry["table"], where, alias="child.")
        missing = " ".join(
            f"AND NOT EXISTS (SELECT 1 FROM {p} parent WHERE parent.{key} = child.{column})" for p in parents
        )
        return f"SELECT COUNT(*) FROM {table} child WHERE ({scope}) AND child.{column} IS NOT NULL {missing}", {}, None

    def _freshness(self, entry, where):
        table = self._relation(entry, entry["table"], where)
        source = self._relation(entry, entry["source_table"], where)
        source_filter = entry.get("source_filter", "TRUE")
        if ";" in source_filter or "--" in source_filter:
            raise CheckConfigError(f"{where}: source_filter must be a single SQL condition.")
        return (
            (
                f"SELECT CASE WHEN EXISTS (SELECT 1 FROM {_aliased(source)} "
                f"WHERE ({self._scope(entry, entry['source_table'], where)}) "
                f"AND ({source_filter})) AND NOT EXISTS (SELECT 1 FROM {_aliased(table)} WHERE "
                f"{self._scope(entry, entry['table'], where)}) THEN 1 ELSE 0 END"
            ),
            {},
            None,
        )

    def _reconciliation(self, entry, where):
        table = self._relation(entry, entry["table"], where)
        count = f"SELECT COUNT(*) FROM {_aliased(table)} WHERE {self._scope(entry, entry['table'], where)}"
        return count, {}, self._sql_file(entry["source_sql"], where)

    def _custom(self, entry, where):
        if "column" in entry:
            if "table" not in entry:
                raise CheckConfigError(f"{where}: a custom check's column needs its table.")
            self._column(entry["table"], entry["column"], where)
        elif "table" in entry:
            self._table(entry["table"], where)
        return self._sql_file(entry["sql"], where), {}, None
