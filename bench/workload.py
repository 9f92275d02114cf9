"""The benchmark's input, made with the project's generator (include/local_stack/sample_data.py).

* events: one NDJSON day file of exactly `events` eventsim events (2018-11-15), cut from a
  generated day that is a little longer (the generator works in whole sessions);
* songs: the generated catalogue of `songs` songs, one song per file and one line per song,
  as in the real `udacity-dend` bucket (the generator also writes pretty-printed and two-song
  files, to exercise the parser; here every file holds exactly one song);
* the jsonpaths file the DAG uses for the events.

The same scale and seed always give byte-identical input.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from local_stack.sample_data import SampleSpec, generate

DAY = date(2018, 11, 15)
DAY_FILE = f"log_data/{DAY:%Y/%m}/{DAY:%Y-%m-%d}-events.json"
JSONPATHS_KEY = "log_json_path.json"
SONG_PREFIX = "song_data/"
_EVENTS_PER_SESSION = 17.5  # the generator's average is about 18; ask for a little more than needed


@dataclass(frozen=True)
class Workload:
    events: bytes  # the NDJSON day file
    event_count: int
    songs: dict[str, bytes]  # key -> a one-song file
    jsonpaths: bytes
    users: int  # the generator's user count (user ids lie in [2, 2 + 4 * users))

    def event_prefix(self, count: int) -> bytes:
        """The first `count` events of the day file (a smaller file of the same day)."""
        if count >= self.event_count:
            return self.events
        end = -1
        for _ in range(count):
            end = self.events.index(b"\n", end + 1)
        return self.events[: end + 1]


def build(events: int, songs: int, seed: int = 42) -> Workload:
    """Generate the day file and the song files in memory."""
    users = max(30, events // 200)
    sessions = math.ceil(events / _EVENTS_PER_SESSION) + 5
    with tempfile.TemporaryDirectory(prefix="sparkify-bench-data-") as folder:
        root = Path(folder)
        while True:
            spec = SampleSpec(seed=seed, songs=songs, users=users, first_day=DAY, days=1, sessions_per_day=sessions)
            summary = generate(root, spec)
            if summary.events >= events:
                break
            sessions = math.ceil(sessions * 1.25 * events / max(summary.events, 1))
        lines = (root / DAY_FILE).read_bytes().splitlines(keepends=True)
        song_files = _single_song_files(root / "song_data")
        jsonpaths = (root / JSONPATHS_KEY).read_bytes()
    return Workload(b"".join(lines[:events]), events, song_files, jsonpaths, users)


def _single_song_files(folder: Path) -> dict[str, bytes]:
    """One single-line file per song. A second song that shared a file gets a track id of its own."""
    decoder = json.JSONDecoder()
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*.json")):
        for n, song in enumerate(_objects(decoder, path.read_text(encoding="utf-8"))):
            track = path.stem if n == 0 else "TR" + hashlib.md5(song["song_id"].encode()).hexdigest()[:16].upper()
            key = f"{SONG_PREFIX}{track[2]}/{track[3]}/{track[4]}/{track}.json"
            files[key] = json.dumps(song, ensure_ascii=False).encode()
    return files


def _objects(decoder: json.JSONDecoder, text: str):
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return
        value, position = decoder.raw_decode(text, position)
        yield value


def upload(client, bucket: str, objects: dict[str, bytes], region: str, workers: int = 8) -> None:
    """Put `objects` (key -> bytes) into `bucket`, creating it if needed."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda item: client.put_object(Bucket=bucket, Key=item[0], Body=item[1]), objects.items()))
