"""One round of the stress test: hours backfilled on the live scheduler, four runs at a time, with the
song catalogue changing in the middle (issue 13), under Redshift's rules (issue 28). A `Plan` says how
long: BUSY is 48 busy hours (`make stress` repeats it), MONTH a month of December 2018 (`make stress-month`).

A round
1. empties the warehouse (a fresh one each round: see docs/stress-test.md) and generates the plan's
   days of events for its own dates (`round_spec`: the session sample's seed and catalogue, so the
   song files in the bucket are the round's catalogue), uploads their day files;
2. rewrites some NextSong events of the plan's early hours and of its late hours so that they play
   songs that are in no catalogue yet (`NEW_SONGS`, by a new artist and by an existing one);
3. starts `make backfill`'s module (`run_backfill`, `--max-active-runs 4`) in a thread and, once at
   least `change_after_done` runs have finished, every early hour's run among them, and no run of
   the late hours has started, uploads the new song files and a changed file of an existing song
   (its year and its artist's location: the artist's smallest song_id, which the merge says wins);
4. compares the warehouse with the independent model (tests/expected.py): each hour's songplays
   come from the catalogue that hour's run saw: the old one for a run that ended before the
   upload, the new one for a run that started after it; for a run in flight the two must agree
   (no changed song plays in those hours); users, songs, artists and time from the new catalogue;
5. counts the runs, failed runs, task retries (tries beyond the first), "deadlock detected" in the
   warehouse's PostgreSQL log and in the Redshift emulator's log, the serialization failures
   the emulator logged (its 1023s) and the transactions the tasks ran again after one, all
   written during the round; and samples the warehouse's tables, whose peak must stay within
   4 runs x 8 tables plus what is left when the last run has ended;
6. puts the bucket back as it was (the sample's song files, no round day files).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg

from local_stack.airflow_services import AirflowApi
from local_stack.backfill import BackfillResult, run_backfill
from local_stack.sample_data import SampleSpec, generate
from local_stack.warehouse_server import WarehouseServer
from tests.expected import StarSchema, event_time, expected_star, read_songs, utc
from tests.integration.conftest import SAMPLE_SPEC
from tests.live.conftest import DAG_ID
from tests.support import reset_schema, warehouse_star

BUCKET = "udacity-dend"
REGION = "us-west-2"
MAX_ACTIVE_RUNS = 4
TARGET_RUNS = 200  # make stress repeats rounds until it has covered at least this many runs
REWRITE_EVERY = 5  # every 5th NextSong event of a logged-in user in those hours plays a new song


@dataclass(frozen=True)
class Plan:
    """What a round backfills, and when its catalogue changes."""

    name: str
    days: int
    first_day: date  # round n loads first_day + n * days and the days after: dates no other test uses
    sessions_per_day: int
    early_hours: int  # hours [0, early_hours) play the new songs before they exist ...
    late_from: int  # ... and hours [late_from, hours) after they do
    change_after_done: int  # upload the new catalogue once this many runs have finished
    timeout: int  # seconds for the round's backfill

    @property
    def hours(self) -> int:
        return 24 * self.days


BUSY = Plan("busy", 2, date(2018, 11, 20), 160, 6, 30, 16, 3600)
# A month of December 2018 (no other test uses it), at the session sample's pace of plays.
MONTH = Plan("month", 30, date(2018, 12, 1), 40, 6, 240, 96, 4 * 3600)
# The busy round's figures, as the model test and older callers name them.
HOURS, EARLY_HOURS, LATE_FROM, CHANGE_AFTER_DONE = BUSY.hours, BUSY.early_hours, BUSY.late_from, BUSY.change_after_done
API_ATTEMPTS = 8  # a busy machine (load 20 on 2 cores) makes the api-server miss a 30 s read now and then
API_PAUSE = 5.0
POLL_SECONDS = 3.0
LISTING_MAX_AGE = "sparkify_backfill_listing_max_age"
DEADLOCK = re.compile(r"deadlock detected", re.IGNORECASE)
# The emulator's log names each serialization failure it sent a client as Redshift's 1023 (session.py).
SERIALIZATION = re.compile(r"serialization failure \(1023\) in pid \d+")
RETRIED = re.compile(r"Serialization failure on table .*: retrying in")  # sparkify.warehouse.retry_serialization
RUN_TABLES = 8  # a run's staging and shadow tables (docs/run-semantics.md)
SAMPLE_SECONDS = 0.5
COUNT_TABLES = "SELECT count(*) FROM redshift_emulator.counted_tables"

NEW_ARTIST = {
    "artist_id": "ARZZZZSTRESSTEST01",
    "artist_name": "The Stress Testers",
    "artist_location": "Loadville, ST",
    "artist_latitude": None,
    "artist_longitude": None,
}
NEW_TITLES = ("Four At A Time", "No Deadlock Blues", "Backfill Boogie", "Catalogue Change")
CHANGED_YEAR = 1977
CHANGED_PLACE = {"artist_location": "Changed Place, CA", "artist_latitude": 12.34567, "artist_longitude": -98.76543}


def month_plan() -> Plan:
    """MONTH, or STRESS_MONTH_DAYS days of it (a shorter trial of the same test)."""
    value = os.environ.get("STRESS_MONTH_DAYS", str(MONTH.days)).strip()
    if not value.isdigit() or not 2 <= int(value) <= MONTH.days:
        raise ValueError(f"STRESS_MONTH_DAYS={value!r}: give a whole number of days from 2 to {MONTH.days}")
    days = int(value)
    if days == MONTH.days:
        return MONTH
    # a shorter trial keeps the shape: a change after a third of the runs, late hours from the middle on
    hours = 24 * days
    return replace(MONTH, days=days, late_from=hours // 2, change_after_done=max(MONTH.early_hours, hours // 5))


def round_spec(number: int, plan: Plan = BUSY) -> SampleSpec:
    """The plan's days (busy: about 100 plays an hour) with the session sample's catalogue (same seed and size)."""
    return SampleSpec(
        seed=SAMPLE_SPEC.seed,
        songs=SAMPLE_SPEC.songs,
        users=80,
        first_day=plan.first_day + timedelta(days=plan.days * number),
        days=plan.days,
        sessions_per_day=plan.sessions_per_day,
    )


@dataclass
class CatalogueChange:
    """What the round uploads mid-way: new files (key -> bytes) and a changed one, with the original to restore."""

    new_files: dict[str, bytes]
    changed_key: str
    changed_body: bytes
    original_body: bytes
    new_song_ids: list[str]
    changed_song_id: str
    changed_artist_id: str


@dataclass
class RoundData:
    first_hour: datetime  # naive UTC
    before: Path  # the bucket as the backfill starts (the round's day files, the sample's song files)
    after: Path  # the same with the catalogue change
    change: CatalogueChange
    rewritten_hours: set[datetime]
    plan: Plan = BUSY

    @property
    def hours(self) -> list[datetime]:
        return [self.first_hour + timedelta(hours=n) for n in range(self.plan.hours)]


@dataclass
class RoundResult:
    number: int
    first_hour: datetime
    runs: int = 0
    succeeded: int = 0
    failed_runs: list[str] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)  # "hour task: N retries"
    deadlocks_postgres: list[str] = field(default_factory=list)
    deadlocks_emulator: list[str] = field(default_factory=list)
    most_runs_at_once: int = 0
    runs_done_before_change: int = 0
    runs_started_after_change: int = 0
    model_differences: dict[str, str] = field(default_factory=dict)  # table -> "n missing, m unexpected"
    problems: list[str] = field(default_factory=list)  # the round could not be judged as planned
    songplays: int = 0
    new_song_plays: int = 0
    seconds: float = 0.0
    loadavg: str = ""
    plan: Plan = BUSY
    tables: TableCounts | None = None
    serialization_failures: list[str] = field(default_factory=list)  # PostgreSQL's log: failures met
    serialization_retried: int = 0  # tasks' logs: transactions run again after one (warehouse.retry_serialization)

    @property
    def ok(self) -> bool:
        return (
            not (
                self.failed_runs
                or self.deadlocks_postgres
                or self.deadlocks_emulator
                or self.model_differences
                or self.problems
            )
            and self.succeeded == self.runs == self.plan.hours
            and (self.tables is None or self.tables.within_bound)
        )

    def line(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        model = (
            "warehouse = model"
            if not self.model_differences
            else "warehouse != model (" + "; ".join(f"{t}: {d}" for t, d in self.model_differences.items()) + ")"
        )
        text = (
            f"{self.plan.name} round {self.number} [{verdict}] "
            f"hours {self.first_hour:%Y-%m-%dT%H}Z+{self.plan.hours}h: "
            f"{self.runs} runs, {len(self.failed_runs)} failed, "
            f"{len(self.deadlocks_postgres)} deadlocks in PostgreSQL's log, "
            f"{len(self.deadlocks_emulator)} in the emulator's, {sum_retries(self.retries)} task retries, "
            f"at most {self.most_runs_at_once} runs at once, catalogue changed after {self.runs_done_before_change} "
            f"runs had ended and before {self.runs_started_after_change} started, {model} "
            f"({self.songplays} songplays, {self.new_song_plays} of new songs), "
            f"{len(self.serialization_failures)} serialization failures met, {self.serialization_retried} "
            f"transactions retried in their task, {self.tables.line() if self.tables else 'tables not sampled'}, "
            f"{self.seconds / 60:.1f} min, loadavg {self.loadavg}"
        )
        details = self.failed_runs + self.retries + self.deadlocks_postgres + self.deadlocks_emulator + self.problems
        return "\n".join([text, *("    " + d for d in details)])


def sum_retries(retries: list[str]) -> int:
    return sum(int(r.rsplit(": ", 1)[1].split()[0]) for r in retries)


# -- the round's data -------------------------------------------------------------------------------
def prepare_round(number: int, sample: Path, workdir: Path, plan: Plan = BUSY) -> RoundData:
    """Generate the round's days, rewrite plays of the early and late hours, build the catalogue change."""
    spec = round_spec(number, plan)
    before, after = workdir / "before", workdir / "after"
    shutil.rmtree(workdir, ignore_errors=True)
    generate(before, spec)
    if read_songs(before) != read_songs(sample):
        raise AssertionError("the round's generated catalogue should be the seeded sample's")
    shutil.rmtree(before / "song_data")
    shutil.copytree(sample / "song_data", before / "song_data")  # the exact files in the bucket
    first = datetime.combine(spec.first_day, datetime.min.time())

    songs = sorted(read_songs(before), key=lambda s: s["song_id"])
    new_songs = _new_songs(songs)
    rewritten = _rewrite_plays(before, first, new_songs, plan)
    shutil.copytree(before, after)
    change = _catalogue_change(after, songs, new_songs)
    return RoundData(first, before, after, change, rewritten, plan)


def _new_songs(songs: list[dict]) -> list[dict]:
    """Two songs by a new artist, two by an existing one (whose smallest song_id keeps its row)."""
    by_artist: dict[str, list[dict]] = {}
    for song in songs:
        by_artist.setdefault(song["artist_id"], []).append(song)
    existing = by_artist[sorted(by_artist)[-1]][0]  # some artist other than the changed one (see _catalogue_change)
    result = []
    for k, title in enumerate(NEW_TITLES):
        artist = NEW_ARTIST if k % 2 == 0 else {f: existing[f] for f in NEW_ARTIST}
        song_id = f"SOZZZZSTRESSSONG0{k + 1}"
        assert all(song_id > s["song_id"] for s in songs), "a new song must not become an artist's smallest"
        result.append(
            {"num_songs": 1, **artist, "song_id": song_id, "title": title, "duration": 201.12341 + 17 * k, "year": 2018}
        )
    return result


def _rewrite_plays(root: Path, first: datetime, new_songs: list[dict], plan: Plan) -> set[datetime]:
    """Every REWRITE_EVERY-th NextSong of a logged-in user in the early and late hours now plays a new song."""
    early_end, late_start = first + timedelta(hours=plan.early_hours), first + timedelta(hours=plan.late_from)
    hours: set[datetime] = set()
    count = 0
    for path in sorted((root / "log_data").rglob("*-events.json")):
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            moment = event_time(event)
            if (
                event["page"] == "NextSong"
                and event["userId"]
                and (first <= moment < early_end or late_start <= moment)
            ):
                count += 1
                if count % REWRITE_EVERY == 0:
                    song = new_songs[(count // REWRITE_EVERY) % len(new_songs)]
                    event.update(song=song["title"], artist=song["artist_name"], length=song["duration"])
                    hours.add(moment.replace(minute=0, second=0, microsecond=0))
                    line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            lines.append(line)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return hours


def _catalogue_change(after: Path, songs: list[dict], new_songs: list[dict]) -> CatalogueChange:
    """Write the new song files into `after`, and change one existing song and its artist there."""
    new_files = {}
    for song in new_songs:
        key = f"song_data/Z/S/T/TRZZZZSTRESS{song['song_id'][-4:]}.json"
        new_files[key] = json.dumps(song).encode()
    # The changed record: the smallest song of the first artist with two songs and a location.
    by_artist: dict[str, list[dict]] = {}
    for song in songs:
        by_artist.setdefault(song["artist_id"], []).append(song)
    artist_id = next(a for a in sorted(by_artist) if len(by_artist[a]) > 1 and by_artist[a][0]["artist_location"])
    target = by_artist[artist_id][0]["song_id"]
    for path in sorted((after / "song_data").rglob("*.json")):
        objects = _objects(path.read_text(encoding="utf-8"))
        if any(o["song_id"] == target for o in objects):
            original = path.read_bytes()
            year = CHANGED_YEAR if objects[0].get("year") != CHANGED_YEAR else CHANGED_YEAR + 1
            changed = [{**o, "year": year, **CHANGED_PLACE} if o["song_id"] == target else o for o in objects]
            body = "\n".join(json.dumps(o) for o in changed).encode()
            path.write_bytes(body)
            key = path.relative_to(after).as_posix()
            break
    else:
        raise AssertionError(f"no song file holds {target}")
    for key_, body_ in new_files.items():
        (after / key_).parent.mkdir(parents=True, exist_ok=True)
        (after / key_).write_bytes(body_)
    return CatalogueChange(new_files, key, body, original, [s["song_id"] for s in new_songs], target, artist_id)


def _objects(text: str) -> list[dict]:
    decoder, pos, objects = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return objects
        obj, pos = decoder.raw_decode(text, pos)
        objects.append(obj)


def day_keys(data: RoundData) -> dict[str, Path]:
    return {p.relative_to(data.before).as_posix(): p for p in sorted((data.before / "log_data").rglob("*.json"))}


def upload_change(s3, change: CatalogueChange) -> None:
    for key, body in change.new_files.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    s3.put_object(Bucket=BUCKET, Key=change.changed_key, Body=change.changed_body)


def restore_bucket(s3, data: RoundData) -> None:
    """The bucket as the session seeded it: the original song file, no new ones, no round day files."""
    s3.put_object(Bucket=BUCKET, Key=data.change.changed_key, Body=data.change.original_body)
    keys = list(data.change.new_files) + list(day_keys(data))
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})


# -- the model --------------------------------------------------------------------------------------
def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def expected_round(data: RoundData, saw_new: dict[datetime, bool | None]) -> tuple[StarSchema, list[str]]:
    """The model of the round's warehouse, given which catalogue each hour's run saw (None: in flight).

    Returns the model and the problems that keep the round from being judged (an in-flight hour
    whose plays the change affects)."""
    windows = [(data.first_hour, data.first_hour + timedelta(hours=data.plan.hours))]
    old, new = expected_star(data.before, windows), expected_star(data.after, windows)
    problems = []
    songplays = set()
    old_by_hour, new_by_hour = _by_hour(old.songplays), _by_hour(new.songplays)
    for hour in data.hours:
        old_rows, new_rows = old_by_hour.get(hour, set()), new_by_hour.get(hour, set())
        seen = saw_new.get(hour)
        if seen is None and old_rows != new_rows:
            problems.append(f"hour {hour:%Y-%m-%dT%H}Z was in flight at the catalogue change and plays changed songs")
        songplays |= new_rows if seen else old_rows
    if old.users != new.users or old.time != new.time:
        problems.append("the catalogue change should not change users or time")
    model = StarSchema(
        songplays=songplays,
        users=new.users,
        songs=new.songs,
        artists=new.artists,
        time=new.time,
        skipped_guest_plays=new.skipped_guest_plays,
    )
    return model, problems


def _by_hour(rows) -> dict[datetime, set]:
    grouped: dict[datetime, set] = {}
    for row in rows:
        grouped.setdefault(hour_of(row[1]), set()).add(row)
    return grouped


def compare(db, model: StarSchema) -> dict[str, str]:
    actual = warehouse_star(db)
    differences = {}
    for table, rows in actual.items():
        want = getattr(model, table)
        if rows != want:
            differences[table] = f"{len(want - rows)} missing, {len(rows - want)} unexpected of {len(want)}"
    return differences


# -- the live part ----------------------------------------------------------------------------------
class PatientApi(AirflowApi):
    """The REST client, retrying reads (and the token) that time out or meet a 5xx, as a busy machine causes."""

    def token(self) -> str:
        return _patiently(super().token)

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        if method != "GET":
            return super().request(method, path, **kwargs)
        return _patiently(lambda: super(PatientApi, self).request(method, path, **kwargs))


def _patiently(call):
    for attempt in range(API_ATTEMPTS):
        try:
            answer = call()
        except httpx.TransportError:
            if attempt == API_ATTEMPTS - 1:
                raise
        else:
            if not (isinstance(answer, httpx.Response) and answer.status_code >= 500) or attempt == API_ATTEMPTS - 1:
                return answer
        time.sleep(API_PAUSE)
    raise AssertionError("unreachable")


class PatientServices:
    """`services` whose api() is a PatientApi, for run_backfill, which follows the backfill through it."""

    def __init__(self, services) -> None:
        self._services = services

    def api(self) -> PatientApi:
        return PatientApi(self._services.base_url, self._services.login)

    def __getattr__(self, name: str):
        return getattr(self._services, name)


def log_offsets(stack) -> dict[Path, int]:
    server = WarehouseServer(stack)
    return {path: path.stat().st_size if path.exists() else 0 for path in (server.log_file, server.emulator_log)}


def deadlocks_since(offsets: dict[Path, int]) -> list[list[str]]:
    """The lines mentioning a deadlock written to each log since `offsets` (PostgreSQL's, then the emulator's)."""
    return lines_since(offsets, DEADLOCK)


def lines_since(offsets: dict[Path, int], pattern: re.Pattern[str]) -> list[list[str]]:
    """The lines matching `pattern` written to each log since `offsets`, log by log, read a line at a time."""
    found = []
    for path, offset in offsets.items():
        with path.open("rb") as log:
            log.seek(offset)
            lines = (raw.decode(errors="replace").strip() for raw in log)
            found.append([f"{path.name}: {line}" for line in lines if pattern.search(line)])
    return found


def retried_in_tasks(logs: Path, run_ids: set[str]) -> int:
    """How many times the round's tasks ran a transaction again after a serialization failure (their log lines)."""
    count = 0
    for path in logs.rglob("*.log"):
        if any(part.startswith("run_id=") and part[len("run_id=") :] in run_ids for part in path.parts):
            count += sum(bool(RETRIED.search(line)) for line in path.read_text(errors="replace").splitlines())
    return count


@dataclass
class TableCounts:
    """The warehouse's tables during a round: its peak, sampled, against the bound the teardown promises."""

    peak: int = 0
    samples: int = 0
    at_end: int = 0  # after the last run: the fixed tables, the staged-object cache and kept runs' tables
    cache_at_end: int = 0
    kept_runs_at_end: int = 0

    @property
    def bound(self) -> int:
        """Each running run's tables (sparkify.staging: 3 staging and 5 shadow tables) beside what stays."""
        return MAX_ACTIVE_RUNS * RUN_TABLES + self.at_end

    @property
    def within_bound(self) -> bool:
        return self.samples > 0 and self.peak <= self.bound

    def line(self) -> str:
        return (
            f"peak {self.peak} tables ({self.samples} samples; bound {MAX_ACTIVE_RUNS} x {RUN_TABLES} + {self.at_end} "
            f"left at the end: {self.cache_at_end} cached day-file copies, {self.kept_runs_at_end} kept runs)"
        )


class TableSampler:
    """Counts the warehouse's tables (those the quota counts) every SAMPLE_SECONDS, in a thread, as the private
    superuser (the emulator's redshift_emulator.counted_tables)."""

    def __init__(self, dsn: str) -> None:
        self.counts = TableCounts()
        self._dsn = dsn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="table-sampler", daemon=True)

    def __enter__(self) -> TableCounts:
        self._thread.start()
        return self.counts

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            self.counts.at_end = _count(conn, COUNT_TABLES)
            self.counts.cache_at_end = _count(conn, "SELECT count(*) FROM public.staged_object_cache")
            self.counts.kept_runs_at_end = _count(conn, "SELECT count(*) FROM public.kept_failed_runs")

    def _sample(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                self.counts.peak = max(self.counts.peak, _count(conn, COUNT_TABLES))
                self.counts.samples += 1
                self._stop.wait(SAMPLE_SECONDS)


def _count(conn, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _all_pages(api, path: str, key: str, data: RoundData, limit: int, **params) -> list[dict]:
    """Every item under `key` of the round's hours at `path`, page after page (the API caps a page)."""
    items: list[dict] = []
    while True:
        page = api.get(
            path,
            params={
                "logical_date_gte": f"{data.first_hour:%Y-%m-%dT%H:%M:%S}Z",
                "logical_date_lte": f"{data.hours[-1]:%Y-%m-%dT%H:%M:%S}Z",
                "limit": limit,
                "offset": len(items),
                **params,
            },
        )
        items += page[key]
        if not page[key] or len(items) >= page["total_entries"]:
            return items


def runs_of(api, data: RoundData) -> dict[datetime, dict]:
    runs = _all_pages(api, f"/api/v2/dags/{DAG_ID}/dagRuns", "dag_runs", data, 100, order_by="logical_date")
    return {utc(r["logical_date"]): r for r in runs}


def task_instances(api, data: RoundData) -> list[dict]:
    return _all_pages(api, f"/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances", "task_instances", data, 500)


def most_runs_at_once(runs: list[dict]) -> int:
    events = sorted(
        [(utc(r["start_date"]), 1) for r in runs if r["start_date"] and r["end_date"]]
        + [(utc(r["end_date"]), -1) for r in runs if r["start_date"] and r["end_date"]]
    )
    best = current = 0
    for _, step in events:  # at a tie, an end (-1) sorts before a start
        current += step
        best = max(best, current)
    return best


@contextmanager
def report_to(path: Path) -> Iterator[Callable[[str], None]]:
    """A `report(line)` that prints each line and appends it to `path` (flushed, so a stopped run keeps it)."""
    path.parent.mkdir(exist_ok=True)
    with path.open("w") as out:

        def report(line: str) -> None:
            print(line, flush=True)
            out.write(line + "\n")
            out.flush()

        yield report


@contextmanager
def listing_each_run(services) -> Iterator[None]:
    """Every backfill run lists the song catalogue itself instead of reusing a recent listing, as the model
    says which catalogue a run saw from when it started (docs/run-semantics.md)."""
    services.airflow("variables", "set", LISTING_MAX_AGE, "0")
    try:
        yield
    finally:
        services.airflow("variables", "delete", LISTING_MAX_AGE)


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def run_round(number: int, services, s3, db, stack, sample: Path, report=print, plan: Plan = BUSY) -> RoundResult:
    """One round, judged; the bucket is restored whatever happens."""
    started = time.monotonic()
    data = prepare_round(number, sample, stack.state_dir / "stress" / f"{plan.name}-round-{number}", plan)
    result = RoundResult(number, data.first_hour, plan=plan)
    reset_schema(db)
    for key, path in day_keys(data).items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    offsets = log_offsets(stack)
    services = PatientServices(services)
    api = services.api()
    outcome: dict[str, object] = {}

    def backfill() -> None:
        try:
            outcome["result"] = run_backfill(
                services,
                data.first_hour.replace(tzinfo=timezone.utc),
                data.first_hour.replace(tzinfo=timezone.utc) + timedelta(hours=plan.hours),
                MAX_ACTIVE_RUNS,
                report=lambda line: None,
                timeout=plan.timeout,
                poll_seconds=POLL_SECONDS,
            )
        except Exception as error:  # reported below, with the round
            outcome["error"] = error

    thread = threading.Thread(target=backfill, name=f"stress-round-{number}", daemon=True)
    sampler = TableSampler(WarehouseServer(stack).backend_dsn())
    try:
        with sampler as result.tables:
            thread.start()
            changed_at = _change_mid_way(api, s3, data, thread, report)
            thread.join()
        result.seconds = time.monotonic() - started
        if "error" in outcome:
            result.problems.append(f"the backfill did not finish: {outcome['error']}")
        backfill_result: BackfillResult | None = outcome.get("result")  # type: ignore[assignment]
        if backfill_result is not None and not backfill_result.ok:
            result.failed_runs += [f.describe() for f in backfill_result.failures]
        _judge(result, api, db, data, changed_at, offsets, services.home / "logs")
        result.serialization_failures = lines_since(offsets, SERIALIZATION)[1]
    finally:
        restore_bucket(s3, data)
    result.loadavg = Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "?"
    report(result.line())
    return result


def _change_mid_way(api, s3, data: RoundData, thread: threading.Thread, report) -> tuple[datetime, datetime] | None:
    """Upload the catalogue change once enough runs (every early hour's among them) have ended and no late hour has
    started; returns when the upload began and ended, or None when the moment never came."""
    late = set(data.hours[data.plan.late_from :])
    early = set(data.hours[: data.plan.early_hours])
    while thread.is_alive():
        runs = runs_of(api, data)
        ended = {h for h, r in runs.items() if r["state"] in ("success", "failed")}
        started = {h for h, r in runs.items() if r["start_date"]}
        if started & late:
            report(f"round: a late hour started before the catalogue could change ({len(ended)} runs had ended)")
            return None
        if len(ended) >= data.plan.change_after_done and early <= ended:
            begin = now_utc()
            upload_change(s3, data.change)
            end = now_utc()
            return begin, end
        time.sleep(POLL_SECONDS)
    return None


def _judge(result: RoundResult, api, db, data: RoundData, changed_at, offsets, services_logs: Path) -> None:
    runs = runs_of(api, data)
    result.runs = len(runs)
    result.succeeded = sum(r["state"] == "success" for r in runs.values())
    result.failed_runs += [
        f"hour {h:%Y-%m-%dT%H}Z: run {r['dag_run_id']} {r['state']}"
        for h, r in sorted(runs.items())
        if r["state"] != "success" and not any(r["dag_run_id"] in f for f in result.failed_runs)
    ]
    for ti in task_instances(api, data):
        if (ti.get("try_number") or 0) > 1:
            result.retries.append(
                f"run {ti.get('dag_run_id')} {ti['task_id']}: {ti['try_number'] - 1} retries, ended {ti['state']}"
            )
    result.deadlocks_postgres, result.deadlocks_emulator = deadlocks_since(offsets)
    result.serialization_retried = retried_in_tasks(services_logs, {r["dag_run_id"] for r in runs.values()})
    result.most_runs_at_once = most_runs_at_once(list(runs.values()))
    if changed_at is None:
        result.problems.append("the catalogue never changed mid-way")
        return
    begin, end = changed_at
    saw_new: dict[datetime, bool | None] = {}
    for hour in data.hours:
        run = runs.get(hour)
        if run and run["end_date"] and utc(run["end_date"]) < begin:
            saw_new[hour] = False
        elif run and run["start_date"] and utc(run["start_date"]) > end:
            saw_new[hour] = True
        else:
            saw_new[hour] = None
    result.runs_done_before_change = sum(v is False for v in saw_new.values())
    result.runs_started_after_change = sum(v is True for v in saw_new.values())
    model, problems = expected_round(data, saw_new)
    result.problems += problems
    result.model_differences = compare(db, model)
    result.songplays = len(model.songplays)
    result.new_song_plays = sum(r[4] in data.change.new_song_ids for r in model.songplays)


def summary(results: list[RoundResult]) -> str:
    return (
        f"stress: {len(results)} rounds, {sum(r.runs for r in results)} runs, "
        f"{sum(len(r.failed_runs) for r in results)} failed, "
        f"{sum(len(r.deadlocks_postgres) + len(r.deadlocks_emulator) for r in results)} deadlocks, "
        f"{sum(sum_retries(r.retries) for r in results)} task retries, "
        f"{sum(len(r.serialization_failures) for r in results)} serialization failures met, "
        f"{sum(r.serialization_retried for r in results)} transactions retried, "
        f"peak {max((r.tables.peak for r in results if r.tables), default=0)} tables, "
        f"{sum(not r.model_differences for r in results)}/{len(results)} rounds equal to the model, "
        f"{sum(r.seconds for r in results) / 60:.1f} min"
    )


def rounds_for(target_runs: int = TARGET_RUNS) -> int:
    return -(-target_runs // HOURS)


def requested_rounds() -> int:
    """STRESS_ROUNDS (make stress ROUNDS=N), else 1: the round that `make test` runs."""
    value = os.environ.get("STRESS_ROUNDS", "1").strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"STRESS_ROUNDS={value!r}: give a whole number of rounds, at least 1 "
            f"({rounds_for()} rounds of {HOURS} hours cover {TARGET_RUNS} runs)"
        )
    return int(value)
