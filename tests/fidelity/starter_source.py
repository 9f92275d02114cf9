"""The official starter's SQL, read unmodified: `create_tables.sql` and the insert statements of its
`SqlQueries` class (udacity/cd12380-data-pipelines-with-airflow, `plugins/helpers/sql_queries.py`).

The starter is Udacity's educational content under CC BY-NC-ND 4.0 with Udacity's own terms, so it
is not copied into this repository. It is read from `tests/fidelity/starter/` when a maintainer
has placed the two files there (see its README.md), or from a checkout of the starter named by
SPARKIFY_STARTER_DIR. The class is read with `ast`: its strings are used, its code never runs.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

FIXTURE_DIR = Path(__file__).resolve().parent / "starter"
REPOSITORY = "https://github.com/udacity/cd12380-data-pipelines-with-airflow"
INSERTS = {  # target table -> SqlQueries attribute, in the order the starter's DAG loads them
    "songplays": "songplay_table_insert",
    "users": "user_table_insert",
    "songs": "song_table_insert",
    "artists": "artist_table_insert",
    "time": "time_table_insert",
}


@dataclass(frozen=True)
class StarterSql:
    create_tables: str
    inserts: dict[str, str]  # table -> the SELECT the starter inserts into it
    origin: Path


def find_starter() -> Path | None:
    """The folder holding the starter's files, or None."""
    candidates = [FIXTURE_DIR, FIXTURE_DIR / "plugins" / "helpers"]
    if os.environ.get("SPARKIFY_STARTER_DIR"):
        candidates.insert(0, Path(os.environ["SPARKIFY_STARTER_DIR"]))
    for folder in candidates:
        if (folder / "create_tables.sql").is_file() and _queries_file(folder):
            return folder
    return None


def _queries_file(folder: Path) -> Path | None:
    for path in (folder / "sql_queries.py", folder / "plugins" / "helpers" / "sql_queries.py"):
        if path.is_file():
            return path
    return None


def load_starter(folder: Path) -> StarterSql:
    """The starter's create_tables.sql and its five insert SELECTs, as written."""
    queries = _queries_file(folder)
    assert queries is not None
    strings: dict[str, str] = {}
    for node in ast.walk(ast.parse(queries.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef) and node.name == "SqlQueries":
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant):
                    for target in item.targets:
                        if isinstance(target, ast.Name) and isinstance(item.value.value, str):
                            strings[target.id] = item.value.value
    missing = [name for name in INSERTS.values() if name not in strings]
    if missing:
        raise ValueError(f"{queries}: SqlQueries lacks {missing}")
    inserts = {table: strings[name] for table, name in INSERTS.items()}
    return StarterSql((folder / "create_tables.sql").read_text(encoding="utf-8"), inserts, folder)
