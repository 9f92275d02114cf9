"""The verdicts against the issue's targets, the terminal table and the JSON file."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tabulate import tabulate

from bench.timing import Measurement

MIB = 2**20
DIALECT_ON = "sparkify_etl"  # the backfill section's DAG, run with the emulator's dialect layer on
MEMORY_LIMIT = 256 * MIB
# "Flat": the growth at the larger file is within this of the growth at the smaller one.
# A loader that held the file would grow by (large - small) file bytes, far more than this.
FLATNESS_SLACK = 32 * MIB
# Issue 32: an hour's cost on the largest history at most this many times its cost on an empty warehouse.
HOURLY_GROWTH_LIMIT = 1.3


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    measured: float
    limit: float
    comparison: str  # "<=", ">=" or "==": how measured must compare with limit to pass
    unit: str = "×"
    note: str = ""  # context for the reader, e.g. the best any loader could do here

    @property
    def passed(self) -> bool:
        if self.comparison == "==":
            return self.measured == self.limit
        return self.measured <= self.limit if self.comparison == "<=" else self.measured >= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "measured": round(self.measured, 3),
            "limit": self.limit,
            "comparison": self.comparison,
            "unit": self.unit,
            "passed": self.passed,
            "note": self.note,
        }


def machine(postgres_version: str | None) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    versions = {}
    for package in ("apache-airflow", "psycopg", "boto3", "moto", "orjson", "pandas", "SQLAlchemy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_bytes": memory,
        "memory_gib": round(memory / 2**30, 1) if memory else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres_version,
        "packages": versions,
    }


def targets(sections: dict[str, Any]) -> list[Target]:
    from bench import stage_events as ev
    from bench import stage_songs as so

    found = []
    events = sections.get("stage_events", {})
    if "_measurements" in events:
        t, reference = events["_measurements"], events["peers_reference"]
        on = f" (on {events['peer_rows']:,} events)"
        found.append(
            Target(
                "stage_events_vs_direct_loader",
                "stage events: ours (through the emulator) ÷ the loader called directly",
                t[ev.OURS].median / t[ev.DIRECT].median,
                1.15,
                "<=",
            )
        )
        found.append(
            Target(
                "stage_events_vs_floor",
                "stage events: ours (a new day file, its cached copy included) ÷ floor (S3 GET + COPY of typed rows)",
                t[ev.OURS].median / t[ev.FLOOR].median,
                2.0,  # issue 32: the floor has no cache to fill; ours COPYs the file into its cached copy first
                "<=",
            )
        )
        found.append(
            Target(
                "stage_events_vs_pandas_multi",
                "stage events: pandas to_sql(method='multi') ÷ ours" + on,
                t[ev.PANDAS_MULTI].median / t[reference].median,
                5,
                ">=",
            )
        )
        found.append(
            Target(
                "stage_events_vs_pandas_default",
                "stage events: pandas to_sql() default ÷ ours" + on,
                t[ev.PANDAS_DEFAULT].median / t[reference].median,
                5,
                ">=",
            )
        )
    songs = sections.get("stage_songs", {})
    if "_measurements" in songs:
        t, reference = songs["_measurements"], songs["peers_reference"]
        copies = songs["copies_per_load"]
        # Every load must be one COPY: the measure is the most any of them issued (or the fewest, if that was 0).
        found.append(
            Target(
                "stage_songs_copies",
                f"stage songs: COPYs per first run of {songs['files']:,} files (emulator's statement log)",
                max(copies) if min(copies) > 0 else 0,
                1,
                "==",
                unit="",
                note=f"per load: {', '.join(map(str, copies))}",
            )
        )
        found.append(
            Target(
                "stage_songs_vs_floor",
                "stage songs: ours ÷ floor (parallel GET)",
                t[so.OURS].median / t[so.FLOOR].median,
                1.2,
                "<=",
            )
        )
        # No target against the sequential read_key peer (issue 32): the floor itself, one moto process
        # answering GETs, is only about 3× faster per file than that peer, so a 3× goal measured the local
        # S3 server, not the loader. The peer stays in the table of peers.
        if so.NOTHING_NEW in t:
            quiet = songs["nothing_new"]
            found.append(
                Target(
                    "stage_songs_nothing_new_copies",
                    f"stage songs, nothing new: COPYs and rows per run of {songs['files']:,} files",
                    max(quiet["copies_per_load"]) + max(quiet["rows_per_load"]),
                    0,
                    "==",
                    unit="",
                    note=f"COPYs per run: {', '.join(map(str, quiet['copies_per_load']))}",
                )
            )
            quickest = so.REUSED_LISTING if so.REUSED_LISTING in t else so.NOTHING_NEW
            found.append(
                Target(
                    "stage_songs_nothing_new_seconds",
                    f"stage songs, nothing new: seconds for {songs['files']:,} files ({quickest})",
                    t[quickest].median,
                    1.0,
                    "<=",
                    unit=" s",
                    note=f"listing it again: {t[so.NOTHING_NEW].median:.2f} s; the bare listing alone: "
                    f"{t[so.BARE_LISTING].median:.2f} s",
                )
            )
            found.append(
                Target(
                    "stage_songs_nothing_new_vs_listing",
                    "stage songs, nothing new: ours ÷ a bare listing of the prefix",
                    t[so.NOTHING_NEW].median / t[so.BARE_LISTING].median,
                    1.2,
                    "<=",
                )
            )
    hourly = sections.get("hourly_run", {}).get("_measurements")
    if hourly:
        sizes = sorted(hourly)
        empty = hourly[sizes[0]]["total"].median
        found.append(
            Target(
                "hourly_history_vs_empty",
                f"hourly run (fact, dimensions, checks, publish): {sizes[-1]:,}-songplay history ÷ empty",
                hourly[sizes[-1]]["total"].median / empty,
                HOURLY_GROWTH_LIMIT,
                "<=",
                note="curve " + ", ".join(f"{n:,}: {hourly[n]['total'].median / empty:.2f}×" for n in sizes),
            )
        )
    dialect = sections.get("dialect", {})
    if "median_ms" in dialect:
        found.append(
            Target(
                "dialect_median_ms",
                f"Redshift dialect layer: translation per statement, median over the {dialect['statements']} "
                "statements of one hourly run",
                dialect["median_ms"],
                dialect["target_ms"],
                "<=",
                unit=" ms",
                note=f"{dialect['median_ms']:.4f} ms; p95 {dialect['p95_ms']:.3f} ms, max {dialect['max_ms']:.3f} ms; "
                f"{dialect['gate_share']:.0%} pass the gate unlexed",
            )
        )
    backfill = sections.get("backfill", {})
    if "dialect_ratio" in backfill:
        on, off = backfill["dags"][DIALECT_ON]["wall_seconds"], backfill["dialect_off"]["wall_seconds"]
        found.append(
            Target(
                "backfill_dialect_on_vs_off",
                f"backfill of {backfill['hours']} hours: sparkify_etl with the dialect layer ÷ without "
                f"(wall, median of {backfill['repeat']})",
                backfill["dialect_ratio"],
                1.05,
                "<=",
                note=f"{on['median']:.1f} s vs {off['median']:.1f} s",
            )
        )
    if "ratio" in backfill:
        etl, noop = (backfill["dags"][d] for d in ("sparkify_etl", "sparkify_etl_noop"))
        found.append(
            Target(
                "backfill_vs_noop",
                f"backfill of {backfill['hours']} hours, {backfill['max_active_runs']} runs "
                f"at a time: sparkify_etl ÷ its no-op twin (wall, median of {backfill['repeat']})",
                backfill["ratio"],
                1.3,
                "<=",
                note=f"{etl['wall_seconds']['median']:.0f} s vs {noop['wall_seconds']['median']:.0f} s",
            )
        )
        parse = backfill["parse"]
        found.append(
            Target(
                "parse_vs_noop",
                "DAG file parse in a fresh process: sparkify_etl.py ÷ its no-op twin",
                parse["ratio"],
                2,
                "<=",
                note=", ".join(f"{k} {v:.3f} s" for k, v in parse["median_seconds"].items()),
            )
        )
    memory = sections.get("peak_memory", {}).get("sizes")
    if memory:
        growths = [size["_growth"].median for size in memory]
        found.append(
            Target(
                "stage_memory_limit",
                "stage step: largest peak growth over baseline (emulator process)",
                max(growths) / MIB,
                MEMORY_LIMIT / MIB,
                "<=",
                "MiB",
            )
        )
        found.append(
            Target(
                "stage_memory_flat",
                f"stage step (emulator): growth at {memory[-1]['events']:,} events minus "
                f"growth at {memory[0]['events']:,}",
                (growths[-1] - growths[0]) / MIB,
                FLATNESS_SLACK / MIB,
                "<=",
                "MiB",
            )
        )
    return found


# ---------------------------------------------------------------- the terminal table


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _time_row(
    workload: str, method: str, m: Measurement, work: float | None, unit: str, ours: float | None
) -> list[str]:
    rate = f"{work / m.median:,.0f} {unit}/s" if work and m.median else ""
    versus = f"{m.median / ours:.2f}×" if ours else ""
    return [
        workload,
        method,
        _seconds(m.median),
        f"{_seconds(m.low)} – {_seconds(m.high)}",
        f"±{m.spread_pct:.1f}%",
        rate,
        versus,
    ]


def _event_rows(events: dict) -> list[list[str]]:
    from bench import stage_events as ev

    t, n, peer_n, reference = events["_measurements"], events["rows"], events["peer_rows"], events["peers_reference"]
    rows = [
        _time_row(f"stage events, {n:,}", label, t[key], n, "rows", t[ev.OURS].median)
        for label, key in (
            ("ours (the DAG's stage_events)", ev.OURS),
            ("the loader called directly (no emulator)", ev.DIRECT),
            ("floor = GET + COPY", ev.FLOOR),
            ("  floor: S3 GET alone", ev.FLOOR_GET),
            ("  floor: COPY typed rows alone", ev.FLOOR_COPY),
        )
    ]
    peers = [("ours, same input as the peers", ev.OURS_ON_SAMPLE)] if reference != ev.OURS else []
    peers += [
        (f"peer: pandas to_sql(method='multi', chunksize={events['pandas_multi_chunksize']})", ev.PANDAS_MULTI),
        ("peer: pandas to_sql() (default method)", ev.PANDAS_DEFAULT),
        ("peer: json.loads + INSERT per row", ev.NAIVE),
    ]
    rows += [
        _time_row(f"  peers, {peer_n:,}", label, t[key], peer_n, "rows", t[reference].median) for label, key in peers
    ]
    return rows


def _song_rows(songs: dict) -> list[list[str]]:
    from bench import stage_songs as so

    t, n, peer_n, reference = songs["_measurements"], songs["files"], songs["peer_files"], songs["peers_reference"]
    rows = [
        _time_row(f"stage songs, {n:,}", label, t[key], n, "files", t[so.OURS].median)
        for label, key in (
            ("ours (the DAG's stage_songs)", so.OURS),
            (f"floor: parallel GET, {songs['floor_threads']} threads", so.FLOOR),
        )
    ]
    peers = [("ours, same input as the peer", so.OURS_ON_SAMPLE)] if reference != so.OURS else []
    peers += [("peer: S3Hook.read_key per file, in turn", so.SEQUENTIAL)]
    rows += [
        _time_row(f"  peer, {peer_n:,}", label, t[key], peer_n, "files", t[reference].median) for label, key in peers
    ]
    if so.NOTHING_NEW in t:
        rows += [
            _time_row(f"  nothing new, {n:,}", label, t[key], n, "files", t[so.NOTHING_NEW].median)
            for label, key in (
                ("ours (stage_songs, ledger holds every file)", so.NOTHING_NEW),
                ("ours, a backfill run reusing that listing", so.REUSED_LISTING),
                ("bare listing of the prefix (boto3 paginator)", so.BARE_LISTING),
            )
            if key in t
        ]
    return rows


def _hourly_rows(hourly: dict) -> list[list[str]]:
    """The curve: one row per history size, its total and steps (medians), and its ratio to the empty warehouse."""
    t, curve = hourly["_measurements"], hourly["curve"]
    empty = t[curve[0]["songplays"]]["total"].median
    rows = []
    for point in curve:
        size, steps = point["songplays"], t[point["songplays"]]
        label = f"{size:,} songplays" if size else "empty warehouse"
        row = _time_row(
            f"hourly run, {curve[0]['window_songplays']:,} plays", f"{label}: total", steps["total"], None, "", None
        )
        row[-2] = " · ".join(f"{name} {steps[name].median:.3f}" for name in hourly["steps"])
        row[-1] = f"{steps['total'].median / empty:.2f}× empty"
        rows.append(row)
    return rows


def _memory_rows(memory: dict) -> list[list[str]]:
    rows = []
    for size in memory["sizes"]:
        for process, g, baseline in (
            ("emulator", size["_growth"], size["baseline"]),
            ("task", size["_task_growth"], size["task_baseline"]),
        ):
            rows.append(
                [
                    "stage memory",
                    f"{size['events']:,} events ({size['file_bytes'] / MIB:,.0f} MiB file), {process}",
                    f"+{g.median / MIB:.1f} MiB",
                    f"+{g.low / MIB:.1f} – +{g.high / MIB:.1f} MiB",
                    f"±{g.spread_pct:.1f}%",
                    f"baseline {baseline['median'] / MIB:.0f} MiB",
                    "",
                ]
            )
    return rows


def _dialect_rows(dialect: dict) -> list[list[str]]:
    workload = f"dialect, {dialect['statements']} statements of a run"
    rows = [
        [
            workload,
            f"translate() per statement ({dialect['rounds']} rounds)",
            f"{dialect['median_ms']:.4f} ms",
            f"max {dialect['max_ms']:.3f} ms",
            "",
            f"p95 {dialect['p95_ms']:.3f} ms",
            f"{dialect['run_total_ms']:.1f} ms a run",
        ],
        [
            workload,
            f"gate: {dialect['gated']} sent on unlexed ({dialect['gate_share']:.0%}); {dialect['lexed']} lexed",
            f"{dialect['lexed_median_ms']:.4f} ms" if dialect["lexed_median_ms"] is not None else "",
            "",
            "",
            f"{dialect['rewritten']} rewritten, {dialect['refused']} refused",
            "",
        ],
    ]
    return rows


def _backfill_rows(backfill: dict) -> list[list[str]]:
    if "dags" not in backfill:
        return []
    rows, noop = [], backfill["dags"]["sparkify_etl_noop"]
    figures_by_label = {
        **backfill["dags"],
        **({f"{DIALECT_ON}, dialect off": backfill["dialect_off"]} if "dialect_off" in backfill else {}),
    }
    for dag_id, figures in figures_by_label.items():
        wall, runs = figures["wall_seconds"], figures["run_seconds_median"]
        rows.append(
            [
                f"backfill, {backfill['hours']} h",
                f"{dag_id}: wall",
                _seconds(wall["median"]),
                f"{_seconds(min(wall['samples']))} – {_seconds(max(wall['samples']))}",
                "",
                f"{backfill['hours'] / wall['median'] * 60:.1f} hours/min",
                f"{wall['median'] / noop['wall_seconds']['median']:.2f}× no-op",
            ]
        )
        rows.append(
            [
                "",
                f"{dag_id}: a run (median)",
                _seconds(runs),
                "",
                "",
                "",
                f"{runs / noop['run_seconds_median']:.2f}× no-op",
            ]
        )
    return rows


def _task_table(backfill: dict) -> list[str]:
    """Per-task medians of both DAGs, side by side."""
    if "dags" not in backfill:
        return []
    etl, noop = backfill["dags"]["sparkify_etl"], backfill["dags"]["sparkify_etl_noop"]
    # Each alternation's own medians too (sparkify_etl − its no-op of the same alternation): a difference
    # between alternations is visible per task, not only in the pooled median.
    pairs = list(zip(etl.get("alternations", []), noop.get("alternations", [])))
    off = backfill.get("dialect_off")  # sparkify_etl without the emulator's dialect layer, when measured
    rows = [
        [
            "task",
            "sparkify_etl (median)",
            "no-op twin (median)",
            "difference",
            *(f"difference, #{n}" for n in range(1, len(pairs) + 1)),
            *(["dialect off (median)", "on − off"] if off else []),
        ]
    ]
    for task_id, seconds in etl["task_seconds_median"].items():
        floor = noop["task_seconds_median"].get(task_id, 0.0)
        differences = [
            f"{ours['task_seconds_median'].get(task_id, 0.0) - theirs['task_seconds_median'].get(task_id, 0.0):+.2f} s"
            for ours, theirs in [(etl, noop), *pairs]
        ]
        without = off["task_seconds_median"].get(task_id, 0.0) if off else None
        layer = [] if without is None else [_seconds(without), f"{seconds - without:+.2f} s"]
        rows.append([task_id, _seconds(seconds), _seconds(floor), *differences, *layer])
    if pairs:
        rows.append(
            [
                "(wall, run median)",
                "",
                "",
                "",
                *(
                    f"{ours['wall_seconds'] / theirs['wall_seconds']:.2f}×, "
                    f"{ours['run_seconds_median'] / theirs['run_seconds_median']:.2f}×"
                    for ours, theirs in pairs
                ),
                *(["", f"{backfill['dialect_ratio']:.3f}× (wall)"] if off else []),
            ]
        )
    return ["", *_columns(rows)]


def table(result: dict[str, Any]) -> str:
    sections = result["sections"]
    rows: list[list[str]] = []
    for key, build in (
        ("stage_events", _event_rows),
        ("stage_songs", _song_rows),
        ("hourly_run", _hourly_rows),
        ("peak_memory", _memory_rows),
        ("dialect", _dialect_rows),
        ("backfill", _backfill_rows),
    ):
        if key in sections:
            block = build(sections[key])
            labels = [row[0] for row in block]
            for n in range(1, len(block)):  # name a workload on its first line only
                if labels[n] == labels[n - 1]:
                    block[n][0] = ""
            rows += block
    header = ["workload", "method", "median", "min – max", "spread", "throughput", "vs ours"]
    lines = _columns([header, *rows])
    verdicts = [["target", "measured", "goal", "result", ""]] + [
        [
            t["description"],
            f"{t['measured']:.2f}{' ' if t['unit'] == 'MiB' else ''}{t['unit']}" if t["unit"] else f"{t['measured']:g}",
            f"{t['comparison'].replace('<=', '≤').replace('>=', '≥').replace('==', '=')} "
            f"{t['limit']:g}{' ' if t['unit'] == 'MiB' else ''}{t['unit']}",
            "PASS" if t["passed"] else "MISS",
            f"({t['note']})" if t["note"] else "",
        ]
        for t in result["targets"]
    ]
    m, s = result["machine"], result["scale"]
    title = (
        f"Sparkify benchmark, scale {s['name']}: {s['events']:,} events, {s['songs']:,} song files, "
        f"history of {', '.join(f'{n:,}' for n in s['history'])} songplays; median of {s['repeat']} runs "
        f"({s['memory_repeat']} for memory)"
    )
    backfill = sections.get("backfill", {})
    run = result.get("sections_run") or []
    if run and set(run) <= {"dialect", "backfill"}:  # the loader workloads' sizes do not apply
        title = f"Sparkify benchmark, scale {s['name']}: {', '.join(run)}"
    if "dags" in backfill:
        title += (
            f"; backfill: {backfill['hours']} hours, {backfill['song_files']:,} song files, "
            f"{backfill['events']:,} events, {backfill['repeat']} alternations"
        )
    box = (
        f"machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"PostgreSQL {m['postgresql']}"
    )
    if backfill.get("load_average_before"):
        box += (
            f"; load average {' '.join(map(str, backfill['load_average_before']))} before the backfills, "
            f"{' '.join(map(str, backfill.get('load_average_after') or []))} after"
        )
    dialect = sections.get("dialect", {})
    if dialect.get("load_average"):
        box += f"; load average {' '.join(map(str, dialect['load_average']))} while translating"
    parts = [title, box, "", *lines, *_task_table(backfill)]
    if len(verdicts) > 1:
        parts += ["", *_columns(verdicts)]
    for name, problem in result.get("errors", {}).items():
        parts.append(f"ERROR in {name}: {problem}")
    return "\n".join(parts)


def _columns(rows: list[list[str]]) -> list[str]:
    """The first row as the header of a plain table, every column left-aligned."""
    return [
        line.rstrip()
        for line in tabulate(rows[1:], headers=rows[0], tablefmt="simple", disable_numparse=True).splitlines()
    ]


# ---------------------------------------------------------------- the JSON file


def plain(value: Any) -> Any:
    """The result without its in-memory measurement objects (keys starting with '_')."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def write_json(result: dict[str, Any], folder: Path, stamp: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{result['scale']['name']}-{stamp}.json"
    text = json.dumps(plain(result), indent=2, default=str) + "\n"
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path
