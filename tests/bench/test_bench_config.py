"""The benchmark's knobs and statistics, without any server."""

from __future__ import annotations

import pytest

from bench.config import SCALES, resolve_scale, resolve_sections
from bench.timing import Contender, Measurement, race, summed


def test_the_full_scale_is_the_issues_workload():
    full = resolve_scale("full", environ={})
    assert (full.events, full.songs) == (1_000_000, 20_000)
    assert full.history == (0, 1_000_000, 10_000_000, 30_000_000)  # the curve of issue 32
    assert full.memory_events[1] == full.events and full.repeat >= 3
    # the smaller scales keep the curve's shape, scaled as their other workloads
    assert SCALES["small"].history == (0, 100_000, 1_000_000, 3_000_000)
    assert SCALES["tiny"].history == (0, 2_000, 20_000, 60_000)


def test_the_history_knob_takes_a_list_and_always_measures_the_empty_warehouse():
    assert resolve_scale("tiny", environ={"BENCH_HISTORY": "5000, 1000"}).history == (0, 1000, 5000)
    assert resolve_scale("tiny", environ={"BENCH_HISTORY": "0,1_000_000,1000000"}).history == (0, 1_000_000)
    assert resolve_scale("full", environ={"BENCH_HISTORY": "10000000"}).history == (0, 10_000_000)
    assert resolve_scale("tiny", environ={"BENCH_HISTORY": "0"}).history == (0,)
    for bad in ("-5,10", "1e6", "ten"):
        with pytest.raises(ValueError, match="BENCH_HISTORY"):
            resolve_scale("tiny", environ={"BENCH_HISTORY": bad})


def test_environment_knobs_override_one_field_each():
    scale = resolve_scale(None, environ={"BENCH_SCALE": "small", "BENCH_EVENTS": "4000", "BENCH_REPEAT": "5"})
    assert scale.name == "small+custom"
    assert (scale.events, scale.repeat, scale.songs) == (4000, 5, SCALES["small"].songs)
    assert scale.memory_events == (1000, 4000)
    assert scale.peer_events == 4000  # a peer never gets more input than the workload has


def test_bad_knobs_are_refused():
    with pytest.raises(ValueError, match="Unknown scale"):
        resolve_scale("huge", environ={})
    with pytest.raises(ValueError, match="at least 1"):
        resolve_scale("tiny", environ={"BENCH_REPEAT": "0"})
    with pytest.raises(ValueError, match="Unknown section"):
        resolve_sections("events,lunch")
    assert resolve_sections("memory, events") == ("memory", "events")


def test_median_spread_and_sums():
    m = Measurement([3.0, 1.0, 2.0])
    assert (m.median, m.low, m.high, m.spread_pct) == (2.0, 1.0, 3.0, 50.0)
    assert summed([Measurement([1.0, 2.0]), Measurement([0.5, 0.5])]).samples == [1.5, 2.5]


def test_race_interleaves_the_contenders_and_times_only_run():
    calls = []
    contenders = [Contender(name, lambda n=name: calls.append(n), lambda: calls.append("before")) for name in "ab"]
    results = race(contenders, 2, progress=lambda _message: None)
    assert calls == ["before", "a", "before", "b", "before", "a", "before", "b"]
    assert [len(results[name].samples) for name in "ab"] == [2, 2]


def test_targets_compare_at_most_at_least_or_exactly():
    from bench.scorecard import Target

    assert Target("a", "", 1.1, 1.15, "<=").passed and not Target("a", "", 1.2, 1.15, "<=").passed
    assert Target("b", "", 5.0, 5, ">=").passed and not Target("b", "", 4.9, 5, ">=").passed
    assert Target("c", "", 1, 1, "==", unit="").passed and not Target("c", "", 2, 1, "==").passed
    assert Target("c", "", 1, 1, "==").as_dict()["comparison"] == "=="


def hourly_section(totals: dict[int, list[float]]) -> dict:
    """An hourly_run section as bench/history.py returns it, with these total samples per history size."""
    steps = ("fact", "dimensions", "quality", "publish")
    measurements = {
        size: {"total": Measurement(samples), **{s: Measurement([t / 4 for t in samples]) for s in steps}}
        for size, samples in totals.items()
    }
    curve = [
        {"songplays": size, "window_songplays": 72, "steps": {k: m.as_dict() for k, m in measurements[size].items()}}
        for size in sorted(totals)
    ]
    return {"steps": {s: [] for s in steps}, "curve": curve, "_measurements": measurements}


def test_the_hourly_target_is_the_largest_history_over_the_empty_warehouse_at_most_1_3():
    from bench.scorecard import targets

    hourly = hourly_section({0: [1.0, 1.2, 1.1], 1_000: [9.0, 9.0, 9.0], 30_000: [1.4, 1.6, 1.5]})
    [target] = targets({"hourly_run": hourly})
    assert (target.name, target.limit, target.comparison) == ("hourly_history_vs_empty", 1.3, "<=")
    assert target.measured == pytest.approx(1.5 / 1.1) and target.passed is False  # the middle point is not it
    assert "30,000-songplay history ÷ empty" in target.description
    assert target.note == "curve 0: 1.00×, 1,000: 8.18×, 30,000: 1.36×"
    assert targets({"hourly_run": hourly_section({0: [1.0], 30_000: [1.25]})})[0].passed


def test_the_curve_is_printed_and_plotted(tmp_path):
    from bench.curve_plot import write_hourly_curve
    from bench.scorecard import _hourly_rows

    hourly = hourly_section({0: [2.0, 2.0], 2_000_000: [2.2, 2.4]})
    rows = _hourly_rows(hourly)
    assert [row[1] for row in rows] == ["empty warehouse: total", "2,000,000 songplays: total"]
    assert rows[1][-1] == "1.15× empty" and rows[1][-2].startswith("fact 0.575 · dimensions 0.575")
    path = write_hourly_curve(hourly, tmp_path, "curve")
    assert path == tmp_path / "curve.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "latest-hourly-curve.png").read_bytes() == path.read_bytes()
