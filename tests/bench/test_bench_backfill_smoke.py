"""`make bench BENCH_ONLY=backfill` end to end at the tiny scale: a private Airflow backfills
sparkify_etl (with the emulator's dialect layer on, then off) and its generated no-op twin, and
the warehouse matches the independent model after each of sparkify_etl's backfills.

The figures of a tiny run mean nothing, so nothing here compares a time with a limit: only the
harness's output, the shape of its figures and the correctness check it makes.
"""

from __future__ import annotations

import json

import pytest

from tests.bench.tiny_bench import run_tiny_bench

pytestmark = pytest.mark.integration

DAGS = ("sparkify_etl", "sparkify_etl_noop")


@pytest.fixture(scope="module")
def tiny_backfill(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-results")
    stdout = run_tiny_bench("backfill", out, timeout=1800)
    return stdout, json.loads((out / "latest.json").read_text())


def test_prints_both_dags_the_task_table_and_the_three_targets(tiny_backfill):
    stdout, _ = tiny_backfill
    assert "Sparkify benchmark, scale tiny: backfill" in stdout and "load average" in stdout
    for dag_id in (*DAGS, "sparkify_etl, dialect off"):
        assert f"{dag_id}: wall" in stdout and f"{dag_id}: a run (median)" in stdout
    assert "dialect off (median)" in stdout and "on − off" in stdout
    assert "no-op twin (median)" in stdout and "stage_songs" in stdout
    assert "difference, #1" in stdout and "(wall, run median)" in stdout  # each alternation's own medians
    verdicts = [
        line
        for line in stdout.splitlines()
        if line.rstrip().endswith(("PASS", "MISS")) or " PASS " in line or " MISS " in line
    ]
    assert len(verdicts) == 3 and "ERROR" not in stdout


def test_the_result_has_every_figure_and_the_warehouse_matches_the_model(tiny_backfill):
    _, result = tiny_backfill
    section = result["sections"]["backfill"]
    assert result["errors"] == {} and section["star_schema_matches_model"] is True
    scale = result["scale"]
    assert (section["hours"], section["song_files"]) == (scale["backfill_hours"], scale["backfill_songs"])
    for figures in (*(section["dags"][dag_id] for dag_id in DAGS), section["dialect_off"]):
        assert len(figures["wall_seconds"]["samples"]) == scale["backfill_repeat"]
        assert figures["run_seconds_median"] > 0
        alternations = figures["alternations"]
        assert [a["wall_seconds"] for a in alternations] == figures["wall_seconds"]["samples"]
        assert all(set(a["task_seconds_median"]) == set(figures["task_seconds_median"]) for a in alternations)
        assert set(figures["task_seconds_median"]) == set(section["dags"]["sparkify_etl"]["task_seconds_median"])
    assert len(section["dags"]["sparkify_etl"]["task_seconds_median"]) == 15  # with the selection step and the teardown
    assert section["ratio"] == pytest.approx(
        section["dags"]["sparkify_etl"]["wall_seconds"]["median"]
        / section["dags"]["sparkify_etl_noop"]["wall_seconds"]["median"],
        rel=0.01,
    )
    assert section["dialect_ratio"] == pytest.approx(
        section["dags"]["sparkify_etl"]["wall_seconds"]["median"] / section["dialect_off"]["wall_seconds"]["median"],
        rel=0.01,
    )
    # the model is checked after every backfill of sparkify_etl, with the dialect layer on and off
    checks = section["model_checks"]
    assert len(checks) == 2 * scale["backfill_repeat"] and all(check["matches"] for check in checks)
    assert {check["backfill"].split(" #")[0] for check in checks} == {
        "sparkify_etl, dialect on",
        "sparkify_etl, dialect off",
    }
    parse = section["parse"]
    assert all(len(v) == scale["parse_samples"] for v in parse["samples"].values())
    assert {t["name"] for t in result["targets"]} == {"backfill_vs_noop", "parse_vs_noop", "backfill_dialect_on_vs_off"}
    [layer] = [t for t in result["targets"] if t["name"] == "backfill_dialect_on_vs_off"]
    assert (layer["limit"], layer["comparison"]) == (1.05, "<=")
