"""SQL data quality checks: a query returning one value, an expected value and a comparison."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "equal": operator.eq,
    "not_equal": operator.ne,
    "greater_than": operator.gt,
    "at_least": operator.ge,
    "less_than": operator.lt,
    "at_most": operator.le,
    "between": lambda observed, bounds: bounds[0] <= observed <= bounds[1],
}


@dataclass(frozen=True)
class SqlCheck:
    """One check. `sql` returns a single value; `between` takes [low, high], both inclusive."""

    name: str
    sql: str
    expected: Any
    comparison: str = "equal"
    description: str = ""

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(
                f"Check {self.name!r}: unknown comparison {self.comparison!r}; use one of {', '.join(COMPARISONS)}."
            )
        if self.comparison == "between" and not (
            isinstance(self.expected, (list, tuple)) and len(self.expected) == 2 and self.expected[0] <= self.expected[1]
        ):
            raise ValueError(f"Check {self.name!r}: 'between' needs expected=[low, high] with low <= high.")
        if not self.sql.strip():
            raise ValueError(f"Check {self.name!r} has no SQL.")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SqlCheck:
        unknown = set(data) - {"name", "sql", "expected", "comparison", "description"}
        if unknown:
            raise ValueError(f"Check {data.get('name')!r}: unknown field(s) {sorted(unknown)}.")
        return cls(**data)

    def passes(self, observed: Any) -> bool:
        if observed is None:
            return self.expected is None and self.comparison == "equal"
        try:
            return bool(COMPARISONS[self.comparison](observed, self.expected))
        except TypeError:
            return False

    def describe_expectation(self) -> str:
        if self.comparison == "between":
            return f"between {self.expected[0]} and {self.expected[1]}"
        return f"{self.comparison.replace('_', ' ')} {self.expected}"


def load_checks(path: Path, sql_dir: Path) -> list[SqlCheck]:
    """Checks declared in a YAML file; each `sql` names a file under `sql_dir`."""
    entries = yaml.safe_load(path.read_text())
    if not isinstance(entries, list):
        raise ValueError(f"{path} must hold a list of checks.")
    checks = []
    for entry in entries:
        if not isinstance(entry, dict) or "sql" not in entry:
            raise ValueError(f"{path}: every check needs a name and an sql file, not {entry!r}.")
        sql_file = sql_dir / entry["sql"]
        if not sql_file.is_file():
            raise ValueError(f"{path}: check {entry.get('name')!r} names {sql_file}, which does not exist.")
        checks.append(SqlCheck.from_mapping({**entry, "sql": sql_file.read_text()}))
    return checks
