"""The DAG docs dialog of sparkify_etl (its doc_md, the module docstring) opens with what a newcomer needs:
what the DAG does, how to trigger a window from the form, and where the results are; the details follow."""

from __future__ import annotations

import pytest

from tests.support import PROJECT_ROOT


@pytest.fixture(scope="module")
def etl_dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).dags["sparkify_etl"]


def _opening(dag) -> str:
    doc = dag.doc_md.strip()
    assert "#### How it works" in doc, "the details come after the opening, under their own heading"
    return doc.split("#### How it works")[0]


def test_the_opening_says_what_the_dag_does_in_two_lines(etl_dag):
    lines = _opening(etl_dag).splitlines()
    assert lines[0] == "### Sparkify ETL"
    summary = lines[2:4]
    assert lines[4] == "", "two lines, then the next paragraph"
    assert "S3" in summary[0] and "star" in summary[0] + summary[1], summary


def test_the_opening_says_how_to_trigger_a_window_and_where_the_results_are(etl_dag):
    opening = " ".join(_opening(etl_dag).split())
    for needed in (
        "Trigger → Single Run",
        "*Window start (UTC)*",
        "*Window end (UTC, exclusive)*",
        "The star schema tables",
        "The run's note",
        "run_quality_checks' log",
        "`dq_results`",
        "**Quality results** button",
        "`sparkify_report`",
        "**Report** button",
        "`docs/dag.md`",
    ):
        assert needed in opening, needed
    assert len(_opening(etl_dag).splitlines()) <= 30, "an opening, not the manual"
