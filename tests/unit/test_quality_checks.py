from __future__ import annotations

import pytest

from sparkify.sql_check import SqlCheck


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


def test_null_results_pass_only_when_accepted():
    assert SqlCheck("c", "SELECT MIN(x)", 0, "at_least", accept_none=True).passes(None) is True
    assert SqlCheck("c", "SELECT MIN(x)", 0, "at_least").passes(None) is False


def test_expected_value_from_a_query_is_used_when_given():
    check = SqlCheck("c", "SELECT 1", expected_sql="SELECT 2")
    assert check.passes(2, expected=2) and not check.passes(1, expected=2)
    assert check.describe_expectation(2) == "equal 2"
