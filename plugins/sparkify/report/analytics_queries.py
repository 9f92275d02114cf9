"""The analytics team's questions: one SQL file each, whose header comments say how to show the answer.

    -- title: Most played songs                      (required)
    -- description: The ten songs played most often. (optional)
    -- chart: barh                                   (bar, barh, pie or none; default none)
    -- label: song, artist                           (the columns that name a bar or slice)
    -- value: plays                                  (the column it measures)

Files run in the order of their names, so a numeric prefix (`10_top_songs.sql`) orders
the report; the query's name is the file name without it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHARTS = ("bar", "barh", "pie", "none")
_HEADER = re.compile(r"--\s*([a-z_]+)\s*:\s*(.*?)\s*$")
_KEYS = ("title", "description", "chart", "label", "value")


class AnalyticsQueryError(ValueError):
    """An analytics SQL file whose header or columns do not say how to show it."""


@dataclass(frozen=True)
class AnalyticsQuery:
    name: str
    title: str
    description: str
    sql: str
    chart: str = "none"
    label: tuple[str, ...] = ()
    value: str | None = None
    path: Path | None = None


@dataclass(frozen=True)
class QueryResult:
    query: AnalyticsQuery
    columns: tuple[str, ...]
    rows: list[tuple]

    def labels(self) -> list[str]:
        """One name per row: the label columns, joined."""
        positions = [self.columns.index(name) for name in self.query.label]
        return [" · ".join("" if row[i] is None else str(row[i]) for i in positions) for row in self.rows]

    def values(self) -> list[float]:
        position = self.columns.index(self.query.value)
        return [float(row[position] or 0) for row in self.rows]


def parse_query(path: Path) -> AnalyticsQuery:
    """Read one SQL file and its header."""
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _HEADER.fullmatch(line.strip())
        if not match:
            break
        key, value = match.groups()
        if key not in _KEYS:
            raise AnalyticsQueryError(f"{path.name}: unknown header '{key}' (use {', '.join(_KEYS)}).")
        header[key] = value
    where = path.name
    if not header.get("title"):
        raise AnalyticsQueryError(f"{where}: the header needs a '-- title: ...' line.")
    chart = header.get("chart", "none")
    if chart not in CHARTS:
        raise AnalyticsQueryError(f"{where}: chart '{chart}' is not one of {', '.join(CHARTS)}.")
    label = tuple(column.strip() for column in header.get("label", "").split(",") if column.strip())
    value = header.get("value") or None
    if chart != "none" and not (label and value):
        raise AnalyticsQueryError(f"{where}: a {chart} chart needs '-- label: <columns>' and '-- value: <column>'.")
    return AnalyticsQuery(
        name=re.sub(r"^\d+_", "", path.stem),
        title=header["title"],
        description=header.get("description", ""),
        sql=text,
        chart=chart,
        label=label,
        value=value,
        path=path,
    )


def load_queries(folder: Path) -> list[AnalyticsQuery]:
    paths = sorted(Path(folder).glob("*.sql"))
    if not paths:
        raise AnalyticsQueryError(f"No analytics queries (*.sql) in {folder}.")
    return [parse_query(path) for path in paths]


def run_query(cursor: Any, query: AnalyticsQuery) -> QueryResult:
    """Run `query` through a DB-API cursor (psycopg, psycopg2 or redshift_connector)."""
    cursor.execute(query.sql)
    columns = tuple(str(description[0]) for description in cursor.description)
    result = QueryResult(query, columns, [tuple(row) for row in cursor.fetchall()])
    _check_columns(query, columns)
    return result


def _check_columns(query: AnalyticsQuery, columns: Sequence[str]) -> None:
    wanted = [*query.label, *([query.value] if query.value else [])]
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise AnalyticsQueryError(
            f"{query.path.name if query.path else query.name}: the chart names column(s) {', '.join(missing)}, "
            f"but the query returns {', '.join(columns)}."
        )
