"""An independent model of the star schema, computed in Python from the generated files.

It reads the JSON files directly and applies the semantics in the README, so the
tests compare the warehouse with values that do not come from the code under test.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


def blank_as_null(record: dict) -> dict:
    """The DAG stages with BLANKSASNULL and EMPTYASNULL: blank strings load as NULL."""
    return {k: None if isinstance(v, str) and not v.strip() else v for k, v in record.items()}


def read_songs(root: Path) -> list[dict]:
    decoder, songs = json.JSONDecoder(), []
    for path in sorted((root / "song_data").rglob("*.json")):
        text, pos = path.read_text(encoding="utf-8"), 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            song, pos = decoder.raw_decode(text, pos)
            songs.append(blank_as_null(song))
    return songs


def read_events(root: Path) -> list[dict]:
    events = []
    for path in sorted((root / "log_data").rglob("*-events.json")):
        events += [
            blank_as_null(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return events


def event_time(event: dict) -> datetime:
    return datetime(1970, 1, 1) + timedelta(milliseconds=event["ts"])


@dataclass
class StarSchema:
    songplays: set[tuple]
    users: set[tuple]
    songs: set[tuple]
    artists: set[tuple]
    time: set[tuple]
    skipped_guest_plays: int


def expected_star(root: Path, windows: list[tuple[datetime, datetime]]) -> StarSchema:
    """The warehouse after loading `windows` (naive UTC bounds), in any order."""
    songs, events = read_songs(root), read_events(root)

    def in_windows(moment: datetime) -> bool:
        return any(start <= moment < end for start, end in windows)

    catalogue: dict[tuple, dict] = {}
    for song in sorted(songs, key=lambda s: s["song_id"]):
        catalogue.setdefault((song["title"], song["artist_name"], song["duration"]), song)

    plays = [e for e in events if e["page"] == "NextSong" and in_windows(event_time(e))]
    songplays, latest, skipped = set(), {}, 0
    for e in plays:
        if e["userId"] is None:
            skipped += 1
            continue
        user = int(e["userId"])
        match = catalogue.get((e["song"], e["artist"], e["length"]))
        key = f"{user}-{e['sessionId']}-{e['itemInSession']}"
        songplays.add(
            (
                hashlib.md5(key.encode()).hexdigest(),
                event_time(e),
                user,
                e["level"],
                match["song_id"] if match else None,
                match["artist_id"] if match else None,
                e["sessionId"],
                e["location"],
                e["userAgent"],
            )
        )
        rank = (e["ts"], e["itemInSession"])
        if user not in latest or rank > latest[user][0]:
            latest[user] = (rank, (user, e["firstName"], e["lastName"], e["gender"], e["level"]))

    by_id: dict[str, dict] = {}
    by_artist: dict[str, dict] = defaultdict(dict)
    for song in sorted(songs, key=lambda s: s["song_id"]):
        by_id.setdefault(song["song_id"], song)
        if not by_artist[song["artist_id"]]:
            by_artist[song["artist_id"]] = song
    return StarSchema(
        songplays=songplays,
        users={row for _, row in latest.values()},
        songs={(s["song_id"], s["title"], s["artist_id"], s["year"], s["duration"]) for s in by_id.values()},
        artists={
            (a, s["artist_name"], s["artist_location"], s["artist_latitude"], s["artist_longitude"])
            for a, s in by_artist.items()
        },
        time={
            (t, t.hour, t.day, t.isocalendar()[1], t.month, t.year, (t.weekday() + 1) % 7)
            for t in {row[1] for row in songplays}
        },
        skipped_guest_plays=skipped,
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None)
