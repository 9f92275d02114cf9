"""`make bench` / `python -m bench`: run the benchmark on a private stack, print a table, write JSON.

    make bench                       # the issue's workloads (about 15 minutes on 2 cores)
    make bench SCALE=small           # a tenth of everything
    BENCH_ONLY=events,memory make bench
    BENCH_EVENTS=500000 BENCH_REPEAT=5 make bench

    BENCH_ONLY=dialect make bench    # the Redshift dialect layer's cost per statement of one hourly run
    make bench BENCH_ONLY=backfill   # sparkify_etl's 24-hour backfill vs a no-op twin, on a private Airflow
    BENCH_ONLY=backfill BENCH_BACKFILL_HOURS=8 BENCH_BACKFILL_SONGS=2000 make bench

Knobs (environment): BENCH_SCALE (tiny | small | full), BENCH_ONLY (events, songs, history,
memory, dialect, backfill), BENCH_EVENTS, BENCH_SONGS, BENCH_HISTORY (songplays of history, a
comma-separated list: the curve, e.g. 0,1000000,10000000,30000000), BENCH_REPEAT, BENCH_MEMORY_REPEAT,
BENCH_MEMORY_EVENTS (two sizes, "small,large"), BENCH_DIALECT_ROUNDS, BENCH_BACKFILL_HOURS,
BENCH_BACKFILL_SONGS, BENCH_BACKFILL_EVENTS, BENCH_BACKFILL_REPEAT, BENCH_PARSE_SAMPLES, BENCH_SEED,
BENCH_OUT (the JSON folder, default bench-results/). A target that is missed is reported, not an error: the exit status
is non-zero only when a section could not run. The history section also plots its curve into the
same folder (bench-<scale>-<time>-hourly-curve.png and latest-hourly-curve.png).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from bench.config import SCALES, resolve_scale, resolve_sections

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WARM_UP_EVENTS = 50


def _progress(message: str) -> None:
    print(message, flush=True)


def run_benchmark(scale, sections, progress: Callable[[str], None] = _progress) -> dict:
    """Generate the workloads, start private stacks, run `sections`; returns the result (with measurements)."""
    from bench import scorecard

    began, started_at = time.perf_counter(), datetime.now(timezone.utc)
    result: dict = {
        "scale": scale.as_dict(),
        "sections_run": list(sections),
        "started_at": started_at.isoformat(),
        "sections": {},
        "errors": {},
    }
    loaders = tuple(s for s in sections if s not in ("dialect", "backfill"))
    if loaders:
        _loader_sections(scale, loaders, result, progress)
    if "dialect" in sections:  # a stack of its own with a small day: the statements do not depend on the size
        from bench import dialect

        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # before Airflow is imported
        logging.disable(logging.WARNING)  # the operators' task logs would drown the table
        try:
            result["sections"]["dialect"] = dialect.run(scale.dialect_rounds, progress)
        except Exception as error:
            result["errors"]["dialect"] = f"{type(error).__name__}: {error}"
            progress(f"ERROR in dialect:\n{traceback.format_exc()}")
        result.setdefault("machine", scorecard.machine(result["sections"].get("dialect", {}).get("postgresql")))
    if "backfill" in sections:  # a stack and an Airflow of its own, after the others have stopped theirs
        from bench import backfill

        try:
            result["sections"]["backfill"] = backfill.run(scale, progress)
        except Exception as error:
            result["errors"]["backfill"] = f"{type(error).__name__}: {error}"
            progress(f"ERROR in backfill:\n{traceback.format_exc()}")
        result.setdefault("machine", scorecard.machine(result["sections"].get("backfill", {}).get("postgresql")))
    result["targets"] = [t.as_dict() for t in scorecard.targets(result["sections"])]
    result["duration_seconds"] = round(time.perf_counter() - began, 1)
    return result


def _loader_sections(scale, sections, result: dict, progress: Callable[[str], None]) -> None:
    """The loader sections (events, songs, history, memory) on one private stack, into `result`."""
    from bench import scorecard, stage_events, stage_songs, workload
    from bench.pipeline import variables as pipeline_variables
    from bench.stack import BUCKET, REGION, PrivateStack

    day_events = max(scale.events, *scale.memory_events) if "memory" in sections else scale.events
    progress(f"generating {day_events:,} events and {scale.songs:,} song files (seed {scale.seed}) ...")
    generated = time.perf_counter()
    data = workload.build(day_events, scale.songs, scale.seed)
    generation_seconds = time.perf_counter() - generated
    events_data = data.event_prefix(scale.events)
    result["workload"] = {
        "events": scale.events,
        "event_bytes": len(events_data),
        "song_files": len(data.songs),
        "generator": "include/local_stack/sample_data.py",
        "generation_seconds": round(generation_seconds, 1),
    }
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # before Airflow is imported
    with PrivateStack() as stack:
        os.environ.update(pipeline_variables())
        s = stack.settings
        progress(
            f"private stack: PostgreSQL on {s.warehouse_host}:{s.warehouse_port}, S3 on {s.s3_endpoint}, "
            f"state in {stack.state_dir}"
        )
        logging.disable(logging.WARNING)  # the operators' task logs would drown the table
        from bench import history, memory
        from bench.pipeline import WINDOW, DagRun
        from local_stack.schema import reset_schema

        result["machine"] = scorecard.machine(stack.postgres_version())
        with stack.connect() as conn:
            reset_schema(conn)
        dag_run = DagRun()
        dag_run.prepare()  # the DDL, and this run's staging tables
        result["dag_run"] = {"dag_id": dag_run.dag.dag_id, "run_id": dag_run.run_id, "window": list(WINDOW)}

        objects = {workload.JSONPATHS_KEY: data.jsonpaths}
        if {"events", "history"} & set(sections):
            objects[stage_events.KEY] = events_data
        if "events" in sections and scale.peer_events < scale.events:
            objects[stage_events.PEER_KEY] = data.event_prefix(scale.peer_events)
        if {"songs", "history"} & set(sections):
            objects.update(data.songs)
        if "songs" in sections and scale.peer_songs < len(data.songs):
            objects.update(
                {stage_songs.PEER_PREFIX + key: data.songs[key] for key in sorted(data.songs)[: scale.peer_songs]}
            )
        memory_sizes = []
        if "memory" in sections:
            objects[f"memory-warm-up/{workload.DAY_FILE}"] = data.event_prefix(WARM_UP_EVENTS)
            for count in scale.memory_events:
                body = data.event_prefix(count)
                reuse = count == scale.events and stage_events.KEY in objects  # the same file: upload it once
                prefix = stage_events.PREFIX if reuse else f"memory-{count}/"
                objects.setdefault(prefix + workload.DAY_FILE, body)
                memory_sizes.append((count, len(body), prefix))
        progress(f"uploading {len(objects):,} objects ({sum(map(len, objects.values())) / 2**20:,.1f} MiB) ...")
        uploaded = time.perf_counter()
        workload.upload(stack.s3_client(connections=8), BUCKET, objects, REGION)
        result["workload"]["upload_seconds"] = round(time.perf_counter() - uploaded, 1)
        del objects

        staged = set()

        def section(name: str, key: str, body: Callable[[], dict]) -> None:
            if name not in sections:
                return
            try:
                result["sections"][key] = body()
                staged.add(name)
            except Exception as error:  # report it, run the other sections
                result["errors"][key] = f"{type(error).__name__}: {error}"
                progress(f"ERROR in {key}:\n{traceback.format_exc()}")

        section(
            "events",
            "stage_events",
            lambda: stage_events.run(stack, dag_run, events_data, scale.peer_events, scale.repeat, progress),
        )
        section(
            "songs",
            "stage_songs",
            lambda: stage_songs.run(stack, dag_run, data.songs, scale.peer_songs, scale.repeat, progress),
        )

        def hourly() -> dict:
            for name, table in (("events", "staging_events"), ("songs", "staging_songs")):
                if name not in staged:  # stage as the run would, untimed
                    dag_run.execute(dag_run.stage_task(table))
            return history.run(stack, dag_run, scale.history, data.users, scale.repeat, progress)  # the curve

        section("history", "hourly_run", hourly)
        section(
            "memory",
            "peak_memory",
            lambda: memory.run(stack, dag_run, memory_sizes, "memory-warm-up/", scale.memory_repeat, progress),
        )


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(SCALES), help="default: BENCH_SCALE, else full")
    parser.add_argument(
        "--only",
        default=os.environ.get("BENCH_ONLY"),
        help="comma-separated sections: events, songs, history, memory, dialect, backfill (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("BENCH_OUT") or PROJECT_ROOT / "bench-results"),
        help="folder for the JSON result (default: bench-results/)",
    )
    args = parser.parse_args(argv)
    try:
        scale, sections = resolve_scale(args.scale), resolve_sections(args.only)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from bench import scorecard

    result = run_benchmark(scale, sections)
    print()
    print(scorecard.table(result))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    hourly = result["sections"].get("hourly_run")
    if hourly:
        from bench.curve_plot import write_hourly_curve

        plot = write_hourly_curve(hourly, args.out, f"bench-{result['scale']['name']}-{stamp}-hourly-curve")
        hourly["plot"] = plot.name
        print(f"\nplotted: {plot} (and {plot.parent / 'latest-hourly-curve.png'})")
    path = scorecard.write_json(result, args.out, stamp)
    print(f"\nwritten: {path} (and {path.parent / 'latest.json'}); took {result['duration_seconds']:.0f} s")
    return 1 if result["errors"] else 0
