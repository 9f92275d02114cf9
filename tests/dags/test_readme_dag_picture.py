"""The README's picture of sparkify_etl (a Mermaid graph) has exactly the DAG's edges."""

from __future__ import annotations

import re

from tests.support import PROJECT_ROOT

MERMAID = re.compile(r"```mermaid\n(.*?)```", re.S)
EDGE = re.compile(r"^\s*(\w+)\s*-\.?->\s*(\w+)", re.M)  # `-.->`: a dotted edge, to a teardown


def picture_edges(readme: str) -> set[tuple[str, str]]:
    """(upstream, downstream) task ids drawn in the README's first Mermaid block; `end_` is `end`."""
    block = MERMAID.search(readme).group(1)
    return {(a.rstrip("_"), b.rstrip("_")) for a, b in EDGE.findall(block)}


def test_the_readme_draws_the_dags_edges():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_etl.py")).dags["sparkify_etl"]
    edges = {(task.task_id, down) for task in dag.tasks for down in task.downstream_task_ids}
    drawn = picture_edges((PROJECT_ROOT / "README.md").read_text())
    assert drawn == edges, (
        "README.md's Mermaid graph differs from dags/sparkify_etl.py; redraw it with one line "
        f"`upstream --> downstream` per edge. Missing: {sorted(edges - drawn)}; extra: {sorted(drawn - edges)}"
    )


def test_the_picture_parser_reads_edges():
    assert picture_edges('```mermaid\ngraph LR\n  a --> b\n  b --> end_["end"]\n  a -.-> c\n```') == {
        ("a", "b"),
        ("b", "end"),
        ("a", "c"),
    }
