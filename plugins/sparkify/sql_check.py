"""SQL data quality checks: a query returning one value, compared with an expected value."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "equal": operator.eq,
    "not_equal": operator.ne,
    "greater_than": operator.gt,
    "at_least": operator.ge,
    "less_than": operator.lt,
    "at_most": operator.le,
    "between": lambda observed, bounds: bounds[0] <= observed <= bounds[1],
}
SEVERITIES = ("error", "warn")
_FIELDS = {
    "name",
    "sql",
    "expected",
    "comparison",
    "description",
    "table",
    "severity",
    "parameters",
    "expected_sql",
    "accept_none",
    "kind",
    "column",
}


@dataclass(frozen=True)
class SqlCheck:
    """
    One check. `sql` returns a single value, compared with `expected` (or with the value
    `expected_sql` returns) by `comparison`; `between` takes [low, high], both inclusive.
    A failing `error` check fails the task; a failing `warn` check is logged and recorded.
    With `accept_none`, a NULL result (such as MIN over no rows) passes. `kind` (a kind of
    include/quality_checks.yaml) and `column` describe the check, for its lineage assertion.
    """

    name: str
    sql: str
    expected: Any = None
    comparison: str = "equal"
    description: str = ""
    table: str | None = None
    severity: str = "error"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    expected_sql: str | None = None
    accept_none: bool = False
    kind: str = "custom"
    column: str | None = None

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(
                f"Check {self.name!r}: unknown comparison {self.comparison!r}; use one of {', '.join(COMPARISONS)}."
            )
        if self.comparison == "between" and not (
            isinstance(self.expected, (list, tuple))
            and len(self.expected) == 2
            and self.expected[0] <= self.expected[1]
        ):
            raise ValueError(f"Check {self.name!r}: 'between' needs expected=[low, high] with low <= high.")
        if not self.sql.strip():
            raise ValueError(f"Check {self.name!r} has no SQL.")
        if self.severity not in SEVERITIES:
            raise ValueError(f"Check {self.name!r}: severity must be one of {SEVERITIES}, not {self.severity!r}.")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SqlCheck:
        unknown = set(data) - _FIELDS
        if unknown:
            raise ValueError(f"Check {data.get('name')!r}: unknown field(s) {sorted(unknown)}.")
        return cls(**data)

    def passes(self, observed: Any, expected: Any = None) -> bool:
        expected = self.expected if self.expected_sql is None else expected
        if observed is None:
            return self.accept_none or (expected is None and self.comparison == "equal")
        try:
            return bool(COMPARISONS[self.comparison](observed, expected))
        except TypeError:
            return False

    def describe_expectation(self, expected: Any = None) -> str:
        expected = self.expected if self.expected_sql is None else expected
        if self.comparison == "between":
            return f"between {expected[0]} and {expected[1]}"
        return f"{self.comparison.replace('_', ' ')} {expected}"
