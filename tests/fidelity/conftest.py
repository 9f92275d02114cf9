"""`make fidelity`'s report: with FIDELITY_REPORT=<path> set, the per-area table is printed at the
end of the run and the report (table, failing cases, documentation pages) is written to <path>."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

import pytest

from tests.fidelity.report import Report

_REPORT = Report()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    properties = dict(report.user_properties)
    if "fidelity" in properties and (report.when == "call" or report.failed):
        problem = properties.get("fidelity_problem")
        if report.failed and problem is None:  # raised before a verdict: a lost connection, a fixture
            problem = f"{report.when}: {_reason(report)}"
        _REPORT.record(cast("dict[str, str]", properties["fidelity"]), cast("str | None", problem))
    elif "test_starter" in report.nodeid and (report.when == "call" or report.outcome != "passed"):
        outcome: str = report.outcome
        if report.failed or report.skipped:
            outcome += ": " + _reason(report)
        target = _REPORT.starter if "test_starter_sql.py" in report.nodeid else _REPORT.starter_style
        target.append((report.nodeid.split("::")[-1], outcome))


def _reason(report: pytest.TestReport) -> str:
    """The one-line why of a failed or skipped test: its assertion or pytest.fail/skip message."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    return " ".join(text.split()).removeprefix("Failed: ")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    target = os.environ.get("FIDELITY_REPORT")
    if not target or not _REPORT.results:
        return
    terminalreporter.write_sep("=", "Redshift fidelity: passes per area")
    for line in _REPORT.table():
        terminalreporter.write_line(line)
    Path(target).write_text(_REPORT.markdown(), encoding="utf-8")
    terminalreporter.write_line(f"report written to {target}")
