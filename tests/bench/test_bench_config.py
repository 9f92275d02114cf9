"""The benchmark's knobs and statistics, without any server."""

from __future__ import annotations

import pytest

from bench.config import SCALES, resolve_scale, resolve_sections
from bench.timing import Contender, Measurement, race, summed


def test_the_full_scale_is_the_issues_workload():
    full = resolve_scale("full", environ={})
    assert (full.events, full.songs, full.history) == (1_000_000, 20_000, 10_000_000)
    assert full.memory_events[1] == full.events and full.repeat >= 3


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
