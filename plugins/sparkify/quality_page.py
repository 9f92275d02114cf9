"""A run's data quality results as one small, self-contained HTML page, written next to the report.

`run_quality_checks` writes it on success and on failure alike: one object per run,
`<report location>quality/sparkify_quality_<run id made safe>_<hash>.html` (the report location is
the Variable `sparkify_report_location`, see sparkify.report.storage), so a retry replaces the page
of an earlier try. Its "Quality results" extra link (sparkify.report.link) opens it. Every value on
the page is escaped; no check's SQL is shown.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from sparkify.sql_check import SqlCheck
    from sparkify.window import RunWindow

QUALITY_FOLDER = "quality"  # under the report location
XCOM_KEY = "quality_results"  # the page's S3 URI, which the extra link reads
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_SLUG_LENGTH = 100

# What a check observes, by kind (include/quality_checks.yaml), for a check declared without a description.
_OBSERVES = {
    "row_count": "rows of {table}",
    "null_check": "rows whose {column} is NULL",
    "unique_check": "non-null rows minus distinct values of {column}: rows repeating a value (0: unique)",
    "min": "the smallest {column}",
    "max": "the largest {column}",
    "accepted_values": "rows whose {column} is not an accepted value",
    "referential": "rows whose {column} is missing from the table it references",
    "freshness": "1 when the source had rows in the window but {table} has none",
    "reconciliation": "rows of {table}, compared with the count of its source",
    "custom": "the value of a custom query",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { margin-bottom: 0; } .meta { color: #555; margin-top: .25rem; }
table { border-collapse: collapse; margin-top: 1rem; width: 100%; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
td.status { font-weight: bold; } tr.fail td.status { color: #b00020; } tr.warn td.status { color: #a35a00; }
tr.pass td.status { color: #1b6e20; }
"""


def quality_page_name(run_id: str) -> str:
    """The page's object name: the run id reduced to `[A-Za-z0-9_-]`, and a hash of it (one name per run)."""
    slug = _UNSAFE.sub("_", str(run_id)).strip("_")[:_SLUG_LENGTH] or "run"
    digest = hashlib.sha256(str(run_id).encode()).hexdigest()[:12]
    return f"sparkify_quality_{slug}_{digest}.html"


def status(result: Mapping[str, Any]) -> str:
    """PASS, FAIL (a failed `error` check) or WARN (a failed `warn` check)."""
    if result["passed"]:
        return "PASS"
    return "FAIL" if result["severity"] == "error" else "WARN"


def render_quality_page(
    checks: Sequence[SqlCheck],
    results: Sequence[Mapping[str, Any]],
    *,
    dag_id: str,
    run_id: str,
    window: RunWindow,
    generated_at: datetime,
) -> str:
    """The page of `results` (DataQualityOperator's, one per check of `checks`, by name)."""
    by_name = {check.name: check for check in checks}
    failed = [r for r in results if not r["passed"]]
    errors = sum(1 for r in failed if r["severity"] == "error")
    summary = f"{len(results) - len(failed)} of {len(results)} checks passed"
    if failed:
        summary += f"; {errors} failed, {len(failed) - errors} warned"
    rows = "".join(_row(result, by_name.get(result["name"])) for result in results)
    meta = "<br>".join(
        escape(line)
        for line in (
            f"DAG {dag_id}, run {run_id}",
            f"{window.note()} ({window})",
            f"Checked {generated_at:%Y-%m-%d %H:%M:%S} UTC. {summary}.",
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Data quality: {escape(run_id)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<h1>Sparkify data quality</h1>\n<p class="meta">{meta}</p>\n'
        "<table>\n<thead><tr><th>Check</th><th>Table</th><th>What it checks</th><th>Expected</th>"
        f"<th>Actual</th><th>Result</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n</body>\n</html>\n"
    )


def write_quality_page(location: str, aws_conn_id: str, run_id: str, page: str) -> ObjectStoragePath:
    """Write `page` as the run's object under the report location's quality folder; returns its path."""
    from sparkify.report.storage import report_location, write_page

    return write_page(report_location(location, aws_conn_id) / QUALITY_FOLDER, quality_page_name(run_id), page)


def _row(result: Mapping[str, Any], check: SqlCheck | None) -> str:
    verdict = status(result)
    cells = (
        result["name"],
        result["table"] or "",
        _description(result, check),
        result["expected"],
        "NULL" if result["observed"] is None else result["observed"],
    )
    return (
        f'<tr class="{verdict.lower()}">'
        + "".join(f"<td>{escape(str(cell))}</td>" for cell in cells)
        + f'<td class="status">{verdict}</td></tr>\n'
    )


def _description(result: Mapping[str, Any], check: SqlCheck | None) -> str:
    if result.get("description"):
        return str(result["description"])
    if check is None or check.kind not in _OBSERVES:
        return ""
    return _OBSERVES[check.kind].format(table=check.table or "the table", column=check.column or "the column")
