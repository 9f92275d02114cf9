"""Build the report (run every analytics query, render the HTML page) and write a local copy of it.

`sparkify_report` publishes the page to object storage (sparkify.report.storage); `make report`
writes the local copy here.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sparkify.report.analytics_queries import QueryResult, load_queries, run_query
from sparkify.report.charts import chart_png
from sparkify.report.html_page import render_page

REPORT_FILE = "sparkify_report.html"


@dataclass(frozen=True)
class RenderedReport:
    page: str
    results: list[QueryResult]
    generated_at: datetime


@dataclass(frozen=True)
class Report:
    path: Path
    results: list[QueryResult]


def report_dir(setting: str, project_root: Path) -> Path:
    """The report folder: `setting` (the sparkify_report_dir Variable), relative to the project when not absolute."""
    folder = Path(setting).expanduser()
    return folder if folder.is_absolute() else project_root / folder


def build_report(cursor: Any, sql_dir: Path, source: str, generated_at: datetime | None = None) -> RenderedReport:
    """Run the queries in `sql_dir` through `cursor` and render the page, in memory."""
    generated_at = generated_at or datetime.now(timezone.utc)
    results = [run_query(cursor, query) for query in load_queries(sql_dir)]
    page = render_page([(result, chart_png(result)) for result in results], generated_at, source)
    return RenderedReport(page, results, generated_at)


def refresh_report(
    cursor: Any, sql_dir: Path, out_dir: Path, source: str, generated_at: datetime | None = None
) -> Report:
    """Run the queries in `sql_dir` through `cursor` and replace `out_dir`/sparkify_report.html."""
    report = build_report(cursor, sql_dir, source, generated_at)
    return Report(write_local_copy(report.page, out_dir), report.results)


def write_local_copy(page: str, out_dir: Path) -> Path:
    """Replace `out_dir`/sparkify_report.html with `page` (for `make report`, on the user's machine)."""
    return _replace(Path(out_dir) / REPORT_FILE, page)


def _replace(path: Path, text: str) -> Path:
    """Write `text` to `path` atomically, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path.resolve()
