"""`make bench BENCH_ONLY=backfill`: backfills of sparkify_etl against its no-op twin, on one private Airflow.

A private stack (the emulator, PostgreSQL, moto) and a private Airflow 3 (api-server, scheduler,
dag-processor, triggerer; LocalExecutor: the helpers the live tests use) get a dags folder of their
own: sparkify_etl.py (a link to the project's file) and its no-op twin (bench/noop_dag.py), with
the same tasks, dependencies, pools, timetable and outlets. The bucket holds a generated catalogue
and a day of events (bench/workload.py).

One untimed run of each DAG comes first: it loads the catalogue (the first run's work, not an
hour's) and warms Airflow up. Then three backfills of the same hours alternate, `repeat` times
each: sparkify_etl with the emulator's Redshift dialect layer on, its no-op twin, and sparkify_etl
with the layer off (SPARKIFY_REDSHIFT_DIALECT=off; the DDL rewrite and COPY still run), in the
reverse order every other round. The emulator is restarted, untimed, in the right mode before
each of sparkify_etl's backfills, and after each the warehouse is compared with the independent
model (tests/expected.py). Every backfill is created through the REST API with `max_active_runs`
runs at a time and re-runs hours that ran before (reprocess `completed`, as `make backfill` does).
Times come from Airflow's own records: a backfill's wall time runs from its creation to the end of
its last task; a run's time from its first task's start to its last task's end; a task's is its
duration.
"""

from __future__ import annotations

import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.stack import BUCKET, REGION, PrivateStack
from local_stack.redshift.server import DIALECT_VARIABLE  # "off": the emulator skips its dialect layer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "sparkify_etl"
NOOP_ID = DAG_ID + "_noop"
FIRST_HOUR = datetime(2018, 11, 15, tzinfo=timezone.utc)  # the workload's day
WARM_UP_HOUR = FIRST_HOUR - timedelta(hours=1)  # the day before, whose file holds no event: the catalogue only
WARM_UP_DAY_FILE = f"log_data/{WARM_UP_HOUR:%Y/%m}/{WARM_UP_HOUR:%Y-%m-%d}-events.json"
RUN_LIMIT = 4
# Alternated in this order, reversed every other round (on, no-op, off, off, no-op, on, ...) so that neither
# mode of sparkify_etl always runs first: sparkify_etl through the dialect layer, its no-op twin, without the layer.
CONTENDERS: tuple[tuple[str, str | None], ...] = ((DAG_ID, "on"), (NOOP_ID, None), (DAG_ID, "off"))
POLL_SECONDS = 2.0
WALL_LIMIT = 4 * 3600  # seconds one backfill may take before the bench gives up
API_ATTEMPTS = 6
Progress = Callable[[str], None]


def load_average() -> list[float]:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def run(scale, progress: Progress) -> dict:
    """Generate, seed, start Airflow, warm up, alternate the backfills; returns the section's result."""
    from bench import workload
    from bench.pipeline import variables

    hours, songs, events = scale.backfill_hours, scale.backfill_songs, scale.backfill_events
    progress(f"backfill: generating a day of {events:,} events and {songs:,} song files ...")
    data = workload.build(events, songs, scale.seed)
    result: dict[str, Any] = {
        "hours": hours,
        "song_files": len(data.songs),
        "events": data.event_count,
        "max_active_runs": RUN_LIMIT,
        "repeat": scale.backfill_repeat,
        "load_average_before": load_average(),
    }
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    with PrivateStack() as stack:
        result["postgresql"] = stack.postgres_version()
        os.environ.update(variables(log_prefix="log_data/"))
        objects = {
            workload.JSONPATHS_KEY: data.jsonpaths,
            workload.DAY_FILE: data.events,
            WARM_UP_DAY_FILE: b"",
            **data.songs,
        }
        progress(f"backfill: uploading {len(objects):,} objects ...")
        began = time.perf_counter()
        workload.upload(stack.s3_client(connections=8), BUCKET, objects, REGION)
        result["upload_seconds"] = round(time.perf_counter() - began, 1)
        with _airflow(stack, progress) as (services, dags_dir):
            result["parse"] = _parse_times(dags_dir, services.environment(), scale.parse_samples, progress)
            api = services.api()
            for dag_id in (DAG_ID, NOOP_ID):
                _retrying(lambda d=dag_id: api.set_paused(d, False))
                seconds = _warm_up(api, dag_id)
                result.setdefault("warm_up_seconds", {})[dag_id] = round(seconds, 1)
                progress(
                    f"backfill: warm-up run of {dag_id} ({'loads the catalogue' if dag_id == DAG_ID else 'no-op'}): "
                    f"{seconds:.1f} s"
                )
            expected = _expected_star(data, hours)
            backfills: dict[tuple[str, str | None], list[dict]] = {contender: [] for contender in CONTENDERS}
            checks: list[dict[str, Any]] = []
            try:
                for n in range(scale.backfill_repeat):
                    for dag_id, dialect in CONTENDERS if n % 2 == 0 else CONTENDERS[::-1]:
                        if dialect:  # a fresh emulator for each of sparkify_etl's backfills, the layer on or off
                            _set_dialect(stack, dialect)
                        measured = _backfill(api, dag_id, hours)
                        backfills[dag_id, dialect].append(measured)
                        label = f"{dag_id}{f', dialect {dialect}' if dialect else ''}"
                        progress(
                            f"backfill {n + 1}/{scale.backfill_repeat} of {label}, {hours} hours: "
                            f"{measured['wall_seconds']:.1f} s (load {' '.join(map(str, load_average()))})"
                        )
                        if dialect:  # each of its backfills must leave the star schema the model computes
                            with stack.connect() as conn:
                                checks.append({"backfill": f"{label} #{n + 1}", "matches": _matches(conn, expected)})
            finally:
                os.environ.pop(DIALECT_VARIABLE, None)
            result["dags"] = {dag_id: _summary(backfills[dag_id, dialect]) for dag_id, dialect in CONTENDERS[:2]}
            result["dialect_off"] = _summary(backfills[DAG_ID, "off"])
            etl, noop = (result["dags"][d]["wall_seconds"]["median"] for d in (DAG_ID, NOOP_ID))
            result["ratio"] = round(etl / noop, 3)
            result["dialect_ratio"] = round(etl / result["dialect_off"]["wall_seconds"]["median"], 3)
            result["model_checks"] = checks
            result["star_schema_matches_model"] = all(check["matches"] for check in checks)
            if not result["star_schema_matches_model"]:
                differing = [check["backfill"] for check in checks if not check["matches"]]
                raise RuntimeError(
                    f"After {', '.join(differing)}, the star schema differs from the independent model's"
                )
    result["load_average_after"] = load_average()
    return result


class _airflow:
    """A private Airflow whose dags folder holds sparkify_etl.py and its generated no-op twin."""

    def __init__(self, stack: PrivateStack, progress: Progress) -> None:
        self.stack, self.progress = stack, progress

    def __enter__(self):
        from local_stack.airflow_services import AirflowLogin, AirflowPorts, AirflowServices
        from local_stack.processes import free_port

        dags_dir = self.stack.state_dir / "dags"
        dags_dir.mkdir()
        (dags_dir / f"{DAG_ID}.py").symlink_to(PROJECT_ROOT / "dags" / f"{DAG_ID}.py")
        (dags_dir / f"{NOOP_ID}.py").write_text(_noop_source())
        self.services = AirflowServices(
            self.stack.settings,
            home=self.stack.state_dir / "airflow-bench",
            ports=AirflowPorts(api=free_port(), worker_log_server=free_port(), trigger_log_server=free_port()),
            login=AirflowLogin("admin", secrets.token_urlsafe(12)),
            metadata_db="airflow_bench",
            extra_env={
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir),
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            },  # only the bench's runs
        )
        self.progress(f"backfill: starting a private Airflow on {self.services.base_url} ...")
        try:
            self.services.start(timeout=600, wait_for_dags=(DAG_ID, NOOP_ID))
        except BaseException:
            self.services.stop()
            raise
        return self.services, dags_dir

    def __exit__(self, *exc_info) -> None:
        self.services.stop()


def _noop_source() -> str:
    """The no-op twin's file, generated from the DAG as Airflow parses it."""
    from airflow.dag_processing.dagbag import DagBag

    from bench.noop_dag import noop_dag_source

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / f"{DAG_ID}.py"))
    if bag.import_errors:
        raise RuntimeError(f"{DAG_ID} does not parse: {bag.import_errors}")
    return noop_dag_source(bag.dags[DAG_ID], NOOP_ID)


def _parse_times(dags_dir: Path, environment: dict, samples: int, progress: Progress) -> dict:
    from bench import parse_time

    progress(f"backfill: parse time of each DAG file in a fresh process, {samples} samples each ...")
    files = [dags_dir / f"{DAG_ID}.py", dags_dir / f"{NOOP_ID}.py"]
    return parse_time.summary(
        parse_time.compare(files, samples, {**os.environ, **environment}), files[0].name, files[1].name
    )


def _retrying(call: Callable[[], Any]) -> Any:
    """An idempotent call, tried again when the api-server does not answer in time."""
    import httpx

    for attempt in range(API_ATTEMPTS):
        try:
            return call()
        except httpx.TransportError:
            if attempt == API_ATTEMPTS - 1:
                raise
            time.sleep(POLL_SECONDS * (attempt + 1))


def _get(api, path: str, **params) -> dict:
    """GET with patience: on a loaded machine the api-server may miss the client's 30 s timeout."""
    import httpx

    for attempt in range(API_ATTEMPTS):
        try:
            return api.get(path, params=params or None)
        except (httpx.TransportError, httpx.HTTPStatusError) as error:
            if attempt == API_ATTEMPTS - 1 or (
                isinstance(error, httpx.HTTPStatusError) and error.response.status_code < 500
            ):
                raise
            time.sleep(POLL_SECONDS * (attempt + 1))
    raise AssertionError("unreachable")


def _warm_up(api, dag_id: str) -> float:
    import httpx

    began = time.monotonic()
    try:
        api.trigger(dag_id, _iso(WARM_UP_HOUR))
    except httpx.TransportError:  # it may have been created all the same: found below, or not
        pass
    while not (
        runs := _get(
            api,
            f"/api/v2/dags/{dag_id}/dagRuns",
            logical_date_gte=_iso(WARM_UP_HOUR),
            logical_date_lte=_iso(WARM_UP_HOUR),
        )["dag_runs"]
    ):
        if time.monotonic() - began > 120:
            raise RuntimeError(f"The warm-up run of {dag_id} was not created")
        time.sleep(POLL_SECONDS)
    path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(runs[0]['dag_run_id'], safe='')}"
    while (state := _get(api, path)["state"]) not in ("success", "failed"):
        if time.monotonic() - began > WALL_LIMIT:
            raise RuntimeError(f"The warm-up run of {dag_id} did not finish within {WALL_LIMIT} s")
        time.sleep(POLL_SECONDS)
    if state != "success":
        raise RuntimeError(f"The warm-up run of {dag_id} failed; its task logs are under the private Airflow's home")
    return time.monotonic() - began


def _backfill(api, dag_id: str, hours: int) -> dict:
    """Create a backfill of `hours` hours from FIRST_HOUR through the REST API, wait for it; its times."""
    last = FIRST_HOUR + timedelta(hours=hours - 1)
    body = {
        "dag_id": dag_id,
        "from_date": _iso(FIRST_HOUR),
        "to_date": _iso(last),
        "max_active_runs": RUN_LIMIT,
        "reprocess_behavior": "completed",
        "run_backwards": False,
        "dag_run_conf": {},
    }
    backfill = _create_backfill(api, body)
    created = _utc(backfill["created_at"])
    params = {"logical_date_gte": _iso(FIRST_HOUR), "logical_date_lte": _iso(last), "limit": 100}
    give_up = time.monotonic() + WALL_LIMIT
    # The scheduler marks a backfill complete (within 30 s) once all its runs have finished.
    while not _get(api, f"/api/v2/backfills/{backfill['id']}").get("completed_at"):
        if time.monotonic() > give_up:
            raise RuntimeError(f"The backfill of {dag_id} did not finish within {WALL_LIMIT} s")
        time.sleep(POLL_SECONDS)
    runs = _get(api, f"/api/v2/dags/{dag_id}/dagRuns", **params)["dag_runs"]
    failed = [r["dag_run_id"] for r in runs if r["state"] != "success"]
    if len(runs) != hours or failed:
        raise RuntimeError(f"Backfill of {dag_id}: {len(runs)} runs for {hours} hours; not successful: {failed}")
    instances = _task_instances(api, dag_id, params)
    stale = [ti["task_id"] for ti in instances if _utc(ti["start_date"]) < created]
    if len(instances) != hours * len(instances_per_run(instances)) or stale:
        raise RuntimeError(f"Backfill of {dag_id}: task instances missing, or not run by this backfill: {stale[:5]}")
    by_run: dict[str, list[dict]] = {}
    for ti in instances:
        by_run.setdefault(ti["dag_run_id"], []).append(ti)
    run_seconds = [
        (_utc(max(t["end_date"] for t in tis)) - _utc(min(t["start_date"] for t in tis))).total_seconds()
        for tis in by_run.values()
    ]
    task_seconds: dict[str, list[float]] = {}
    for ti in instances:
        task_seconds.setdefault(ti["task_id"], []).append(float(ti["duration"] or 0))
    end = max(_utc(ti["end_date"]) for ti in instances)
    return {
        "backfill_id": backfill["id"],
        "wall_seconds": (end - created).total_seconds(),
        "run_seconds": run_seconds,
        "task_seconds": task_seconds,
        "task_seconds_total": sum(sum(v) for v in task_seconds.values()),
    }


def _create_backfill(api, body: dict) -> dict:
    """POST the backfill; Airflow closes a DAG's finished backfill within 30 s and refuses another (409) until then.
    A POST whose answer timed out may have created it: then it is the DAG's open backfill."""
    import httpx

    deadline = time.monotonic() + 180
    while True:
        try:
            response = api.request("POST", "/api/v2/backfills", json=body)
        except httpx.TransportError:
            time.sleep(POLL_SECONDS)
            open_ = [
                b
                for b in _get(api, "/api/v2/backfills", dag_id=body["dag_id"], order_by="-id", limit=5)["backfills"]
                if not b.get("completed_at") and b["from_date"].startswith(body["from_date"][:19])
            ]
            if open_:
                return open_[0]
            continue
        if response.status_code < 300:
            return response.json()
        if response.status_code != 409 or time.monotonic() > deadline:
            raise RuntimeError(
                f"Creating the backfill of {body['dag_id']} answered {response.status_code}: {response.text[:1000]}"
            )
        time.sleep(POLL_SECONDS)


def instances_per_run(instances: list[dict]) -> set[str]:
    return {ti["task_id"] for ti in instances}


def _task_instances(api, dag_id: str, params: dict) -> list[dict]:
    found: list[dict] = []
    while True:
        page = _get(
            api, f"/api/v2/dags/{dag_id}/dagRuns/~/taskInstances", **{**params, "limit": 500, "offset": len(found)}
        )
        found += page["task_instances"]
        if not page["task_instances"] or len(found) >= page["total_entries"]:
            return [ti for ti in found if ti.get("start_date") and ti.get("end_date")]


def _summary(backfills: list[dict]) -> dict:
    runs = [s for b in backfills for s in b["run_seconds"]]
    tasks: dict[str, list[float]] = {}
    for b in backfills:
        for task_id, values in b["task_seconds"].items():
            tasks.setdefault(task_id, []).extend(values)
    walls = [b["wall_seconds"] for b in backfills]
    return {
        "wall_seconds": {"samples": [round(w, 1) for w in walls], "median": round(statistics.median(walls), 1)},
        "run_seconds_median": round(statistics.median(runs), 2),
        "task_seconds_median": _medians(tasks),
        "task_seconds_total_median": round(statistics.median(b["task_seconds_total"] for b in backfills), 1),
        "backfill_ids": [b["backfill_id"] for b in backfills],
        "alternations": [
            {
                "wall_seconds": round(b["wall_seconds"], 1),
                "run_seconds_median": round(statistics.median(b["run_seconds"]), 2),
                "task_seconds_median": _medians(b["task_seconds"]),
            }
            for b in backfills
        ],
    }


def _medians(seconds: dict[str, list[float]]) -> dict[str, float]:
    return {task_id: round(statistics.median(values), 2) for task_id, values in sorted(seconds.items())}


def _set_dialect(stack: PrivateStack, dialect: str) -> None:
    """Restart the emulator with its Redshift dialect layer `dialect` ("on" or "off"); PostgreSQL keeps running."""
    os.environ[DIALECT_VARIABLE] = dialect  # the emulator's process inherits the environment
    stack.restart_emulator()


def _expected_star(data, hours: int):
    """The independent model's star schema for the catalogue and the backfilled hours."""
    from tests.expected import expected_star

    with tempfile.TemporaryDirectory(prefix="sparkify-bench-model-") as folder:
        root = Path(folder)
        for key, body in {**data.songs, _day_file(): data.events}.items():
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            (root / key).write_bytes(body)
        first = FIRST_HOUR.replace(tzinfo=None)
        windows = [(WARM_UP_HOUR.replace(tzinfo=None), first + timedelta(hours=hours))]
        return expected_star(root, windows)


def _matches(conn, expected) -> bool:
    """The warehouse's star schema equals `expected`, table by table."""
    from tests.support import STAR_QUERIES, warehouse_star

    actual = warehouse_star(conn)
    return all(actual[table] == getattr(expected, table) for table in STAR_QUERIES)


def _day_file() -> str:
    from bench.workload import DAY_FILE

    return DAY_FILE


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
