"""How big each workload is: named scales, overridable one knob at a time from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

SECTIONS = ("events", "songs", "history", "memory", "dialect", "backfill")


@dataclass(frozen=True)
class Scale:
    """The size of every workload, and how many times each figure is measured."""

    name: str
    events: int  # events in the one day file that stage-events loads
    songs: int  # single-song files that stage-songs loads
    history: tuple[int, ...]  # songplays of history before each measured hourly run: the curve (0: empty)
    memory_events: tuple[int, int]  # the two day-file sizes of the memory probe
    repeat: int  # repetitions of every timed figure
    memory_repeat: int  # repetitions of every memory figure (each is a fresh process)
    # The peers work row by row or file by file, several to fifty times slower than our
    # loader. Above these sizes they race our loader on the first `peer_events` events or
    # `peer_songs` files only (the same input for both), so that a full run takes minutes.
    peer_events: int
    peer_songs: int
    # The backfill section (bench/backfill.py): hours of sparkify_etl and its no-op twin, alternated
    # `backfill_repeat` times each, over a catalogue of `backfill_songs` files and a day of
    # `backfill_events` events; and `parse_samples` fresh-process parses of each DAG file.
    backfill_hours: int = 24
    backfill_songs: int = 20_000
    backfill_events: int = 20_000
    backfill_repeat: int = 2
    parse_samples: int = 10
    # The dialect section (bench/dialect.py): how many times each statement of one hourly run is translated.
    dialect_rounds: int = 200
    seed: int = 42

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "events": self.events,
            "songs": self.songs,
            "history": list(self.history),
            "memory_events": list(self.memory_events),
            "repeat": self.repeat,
            "memory_repeat": self.memory_repeat,
            "peer_events": self.peer_events,
            "peer_songs": self.peer_songs,
            "backfill_hours": self.backfill_hours,
            "backfill_songs": self.backfill_songs,
            "backfill_events": self.backfill_events,
            "backfill_repeat": self.backfill_repeat,
            "parse_samples": self.parse_samples,
            "dialect_rounds": self.dialect_rounds,
            "seed": self.seed,
        }


SCALES = {
    # The workloads: a 1,000,000-event day file, 20,000 song files, the hourly run on up to 30M songplays.
    "full": Scale(
        "full",
        1_000_000,
        20_000,
        (0, 1_000_000, 10_000_000, 30_000_000),
        (250_000, 1_000_000),
        repeat=3,
        memory_repeat=3,
        peer_events=200_000,
        peer_songs=4_000,
    ),
    # A tenth of everything, for a quick look (a few minutes).
    "small": Scale(
        "small",
        100_000,
        2_000,
        (0, 100_000, 1_000_000, 3_000_000),
        (25_000, 100_000),
        repeat=3,
        memory_repeat=2,
        peer_events=100_000,
        peer_songs=2_000,
        backfill_hours=8,
        backfill_songs=2_000,
        backfill_events=2_000,
    ),
    # Seconds: keeps the harness working (tests/integration/test_bench_smoke.py). Its figures mean nothing.
    "tiny": Scale(
        "tiny",
        2_000,
        40,
        (0, 2_000, 20_000, 60_000),
        (500, 2_000),
        repeat=2,
        memory_repeat=1,
        peer_events=1_000,
        peer_songs=20,
        backfill_hours=2,
        backfill_songs=20,
        backfill_events=300,
        backfill_repeat=1,
        parse_samples=2,
        dialect_rounds=5,
    ),
}

# Environment knobs, each overriding one field of the chosen scale.
_OVERRIDES = {
    "BENCH_EVENTS": "events",
    "BENCH_SONGS": "songs",
    "BENCH_REPEAT": "repeat",
    "BENCH_MEMORY_REPEAT": "memory_repeat",
    "BENCH_SEED": "seed",
    "BENCH_PEER_EVENTS": "peer_events",
    "BENCH_PEER_SONGS": "peer_songs",
    "BENCH_BACKFILL_HOURS": "backfill_hours",
    "BENCH_BACKFILL_SONGS": "backfill_songs",
    "BENCH_BACKFILL_EVENTS": "backfill_events",
    "BENCH_BACKFILL_REPEAT": "backfill_repeat",
    "BENCH_PARSE_SAMPLES": "parse_samples",
    "BENCH_DIALECT_ROUNDS": "dialect_rounds",
}


def resolve_scale(name: str | None = None, environ: dict | None = None) -> Scale:
    """The scale `name` (default: BENCH_SCALE, else full) with any BENCH_* overrides applied."""
    environ = os.environ if environ is None else environ
    name = name or environ.get("BENCH_SCALE") or "full"
    if name not in SCALES:
        raise ValueError(f"Unknown scale {name!r}; choose one of {', '.join(SCALES)}.")
    scale = SCALES[name]
    changes = {}
    for variable, field in _OVERRIDES.items():
        if environ.get(variable):
            value = int(environ[variable])
            if value < 1:
                raise ValueError(f"{variable} must be at least 1, not {value}.")
            changes[field] = value
    if environ.get("BENCH_HISTORY"):
        changes["history"] = history_sizes(environ["BENCH_HISTORY"])
    if "events" in changes:  # the memory probe keeps its 1:4 ratio, topping out at the day file
        changes["memory_events"] = (max(1, changes["events"] // 4), changes["events"])
    if environ.get("BENCH_MEMORY_EVENTS"):
        small, large = (int(v) for v in environ["BENCH_MEMORY_EVENTS"].split(","))
        changes["memory_events"] = (small, large)
    if changes:
        scale = replace(scale, name=f"{scale.name}+custom", **changes)
    # A peer never gets more input than the workload has.
    return replace(
        scale, peer_events=min(scale.peer_events, scale.events), peer_songs=min(scale.peer_songs, scale.songs)
    )


def history_sizes(value: str) -> tuple[int, ...]:
    """BENCH_HISTORY: songplays of history, comma-separated ("0,1000000,10000000"), ascending; the empty
    warehouse (0), the baseline of the curve, is measured whether it is listed or not."""
    try:
        sizes = {int(v.replace("_", "")) for v in value.split(",") if v.strip()}
    except ValueError:
        raise ValueError(f"BENCH_HISTORY must be whole numbers separated by commas, not {value!r}.") from None
    if any(n < 0 for n in sizes):
        raise ValueError(f"BENCH_HISTORY sizes must be at least 0, not {value!r}.")
    return tuple(sorted(sizes | {0}))


def resolve_sections(value: str | None) -> tuple[str, ...]:
    """The sections to run, from a comma-separated list (default: all)."""
    if not value:
        return SECTIONS
    chosen = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise ValueError(f"Unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}.")
    return chosen
