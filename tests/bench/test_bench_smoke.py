"""`make bench` end to end at the tiny scale: it runs, prints its table and writes its JSON.

The figures of a tiny run mean nothing, so nothing here looks at a time or a ratio: only at
the harness's output and the correctness checks it makes along the way.
"""

from __future__ import annotations

import json

import pytest

from tests.bench.tiny_bench import run_tiny_bench

pytestmark = pytest.mark.integration

TARGETS = {
    "stage_events_vs_direct_loader",
    "stage_events_vs_floor",
    "stage_events_vs_pandas_multi",
    "stage_events_vs_pandas_default",
    "stage_songs_copies",
    "stage_songs_vs_floor",
    "hourly_history_vs_empty",
    "stage_memory_limit",
    "stage_memory_flat",
    "stage_songs_nothing_new_copies",
    "stage_songs_nothing_new_seconds",
    "stage_songs_nothing_new_vs_listing",
    "dialect_median_ms",
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One tiny benchmark of the loader sections and the dialect section in a subprocess, as
    `make bench SCALE=tiny` runs them (own servers, own ports); the backfill section has a smoke test of
    its own (test_bench_backfill_smoke.py)."""
    out = tmp_path_factory.mktemp("bench-results")
    return run_tiny_bench("events,songs,history,memory,dialect", out, timeout=900), out


def test_prints_the_table_and_every_target(tiny_run):
    stdout, _ = tiny_run
    assert "Sparkify benchmark, scale tiny" in stdout
    assert "machine: " in stdout
    for workload in ("stage events", "stage songs", "hourly run", "stage memory", "dialect, "):
        assert workload in stdout
    for method in (
        "the loader called directly",
        "floor = GET + COPY",
        "pandas to_sql(method='multi'",
        "json.loads + INSERT per row",
        "floor: parallel GET",
        "S3Hook.read_key",
        "empty warehouse: total",
        "60,000 songplays: total",
        "bare listing of the prefix",
        "translate() per statement",
        "sent on unlexed",
    ):
        assert method in stdout
    verdicts = [line for line in stdout.splitlines() if " PASS" in line or " MISS" in line]
    assert len(verdicts) == len(TARGETS)
    assert "ERROR" not in stdout


def test_writes_the_json_result(tiny_run):
    _, out = tiny_run
    [path] = out.glob("bench-tiny-*.json")
    result = json.loads(path.read_text())
    assert json.loads((out / "latest.json").read_text()) == result
    assert result["errors"] == {}
    repeat = result["scale"]["repeat"]
    assert result["scale"]["name"] == "tiny"
    assert {"nproc", "cpu_model", "memory_gib", "python", "postgresql"} <= set(result["machine"])
    assert set(result["sections"]) == {"stage_events", "stage_songs", "hourly_run", "peak_memory", "dialect"}

    def check(measurement, samples=repeat):
        assert len(measurement["samples"]) == samples
        assert measurement["min"] <= measurement["median"] <= measurement["max"]
        assert measurement["spread_pct"] >= 0

    events = result["sections"]["stage_events"]
    assert events["rows"] == result["scale"]["events"]
    assert events["peer_rows"] == result["scale"]["peer_events"] < events["rows"]  # the sampled path runs too
    for name in (
        "ours",
        "the loader called directly",
        "floor",
        "floor: S3 GET",
        "floor: COPY typed rows",
        "ours, on the peers' input",
        "peer: pandas to_sql(method='multi')",
        "peer: pandas to_sql()",
        "peer: naive INSERT",
    ):
        check(events["times"][name])
    assert events["copies_per_load"] == [1] * repeat  # one COPY ... MANIFEST per load, as the emulator logs it
    songs = result["sections"]["stage_songs"]
    assert songs["files"] == result["scale"]["songs"]
    for name in ("ours", "floor: parallel GET", "ours, on the peer's input", "peer: sequential S3Hook.read_key"):
        check(songs["times"][name])
    assert songs["copies_per_load"] == [1] * repeat
    quiet = songs["nothing_new"]  # the ledger holds every file: no COPY, no row, listed or reusing the listing
    assert (quiet["copies_per_load"], quiet["rows_per_load"]) == ([0] * 2 * repeat, [0] * 2 * repeat)
    for name in (
        "ours, nothing new",
        "ours, nothing new, backfill run (listing reused)",
        "bare listing (boto3 paginator)",
    ):
        check(quiet["times"][name])
    hourly = result["sections"]["hourly_run"]
    curve = hourly["curve"]
    assert [point["songplays"] for point in curve] == result["scale"]["history"] == [0, 2_000, 20_000, 60_000]
    for point in curve:
        assert point["window_songplays"] == curve[0]["window_songplays"] > 0  # the same hour at every size
        assert point["table_rows_after"]["songplays"] == point["songplays"] + point["window_songplays"]
        for step in ("fact", "dimensions", "quality", "publish", "total"):
            check(point["steps"][step])
    plot = out / hourly["plot"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000
    assert (out / "latest-hourly-curve.png").read_bytes() == plot.read_bytes()
    memory = result["sections"]["peak_memory"]
    assert "emulator" in memory["process"]
    sizes = memory["sizes"]
    assert [s["events"] for s in sizes] == result["scale"]["memory_events"]
    for size in sizes:
        for figure in ("growth", "peak", "baseline", "task_growth", "task_peak", "task_baseline"):
            check(size[figure], result["scale"]["memory_repeat"])
        assert size["method"].startswith("emulator VmHWM")

    dialect = result["sections"]["dialect"]
    assert dialect["rounds"] == result["scale"]["dialect_rounds"]
    # the recorder saw every statement the emulator logged for the run, and each got a cost
    assert dialect["statements"] == dialect["logged"] > 0
    assert dialect["gated"] + dialect["lexed"] == dialect["statements"]
    assert 0 <= dialect["gate_share"] <= 1 and dialect["refused"] == 0  # the project's own SQL is never refused
    assert 0 < dialect["median_ms"] <= dialect["p95_ms"] <= dialect["max_ms"] <= dialect["run_total_ms"]
    assert any(s["start"].startswith('INSERT INTO "songplays') for s in dialect["slowest"])  # the fact is in it

    targets = {t["name"]: t for t in result["targets"]}
    assert set(targets) == TARGETS
    for target in result["targets"]:
        assert isinstance(target["passed"], bool) and target["comparison"] in ("<=", ">=", "==")
    # The limits (the times mean nothing at this scale, the limits and the COPY count do)
    assert (targets["stage_events_vs_direct_loader"]["limit"], targets["stage_songs_vs_floor"]["limit"]) == (1.15, 1.2)
    assert targets["stage_events_vs_floor"]["limit"] == 2.0 and targets["stage_events_vs_pandas_default"]["limit"] == 5
    assert targets["stage_songs_copies"]["comparison"] == "==" and targets["stage_songs_copies"]["passed"]
    assert targets["stage_songs_nothing_new_copies"]["passed"]
    assert (targets["dialect_median_ms"]["limit"], targets["dialect_median_ms"]["comparison"]) == (1.0, "<=")
    hourly_target = targets["hourly_history_vs_empty"]
    assert (hourly_target["limit"], hourly_target["comparison"]) == (1.3, "<=")
    assert "60,000-songplay history ÷ empty" in hourly_target["description"]


def test_every_loader_loaded_the_same_rows(tiny_run):
    """The peers and the floor are only comparable if they load what our operator loads."""
    _, out = tiny_run
    result = json.loads((out / "latest.json").read_text())
    same = {**result["sections"]["stage_events"]["same_rows"], **result["sections"]["stage_songs"]["same_rows"]}
    assert same and all(same.values()), same
    assert "the loader called directly" in same
