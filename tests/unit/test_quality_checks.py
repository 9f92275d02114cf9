from __future__ import annotations

from pathlib import Path

import pytest

from sparkify.quality import SqlCheck, load_checks
from tests.support import PROJECT_ROOT, SQL_DIR


@pytest.mark.parametrize(
    ("comparison", "expected", "observed", "passes"),
    [
        ("equal", 0, 0, True),
        ("equal", 0, 1, False),
        ("not_equal", 0, 1, True),
        ("not_equal", 0, 0, False),
        ("greater_than", 0, 1, True),
        ("greater_than", 0, 0, False),
        ("at_least", 5, 5, True),
        ("at_least", 5, 4, False),
        ("less_than", 5, 4, True),
        ("less_than", 5, 5, False),
        ("at_most", 5, 5, True),
        ("at_most", 5, 6, False),
        ("between", [1, 3], 1, True),
        ("between", [1, 3], 3, True),
        ("between", [1, 3], 4, False),
        ("equal", 0, None, False),
        ("at_least", 1, "text", False),
    ],
)
def test_comparisons(comparison, expected, observed, passes):
    assert SqlCheck("c", "SELECT 1", expected, comparison).passes(observed) is passes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"comparison": "eval('1')"}, "unknown comparison"),
        ({"comparison": "between", "expected": 3}, "between"),
        ({"comparison": "between", "expected": [3, 1]}, "low <= high"),
        ({"sql": "  "}, "no SQL"),
    ],
)
def test_bad_checks_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SqlCheck(**{"name": "c", "sql": "SELECT 1", "expected": 0, **kwargs})


def test_the_dag_checks_load_from_include():
    checks = load_checks(PROJECT_ROOT / "include" / "quality_checks.yaml", SQL_DIR)
    assert "songplays_reconcile_staging" in {c.name for c in checks}
    assert all(c.sql.strip().upper().startswith(("SELECT", "--")) for c in checks)


def test_a_check_naming_a_missing_file_is_refused(tmp_path: Path):
    path = tmp_path / "checks.yaml"
    path.write_text("- name: x\n  sql: checks/nope.sql\n  expected: 0\n")
    with pytest.raises(ValueError, match="does not exist"):
        load_checks(path, SQL_DIR)
