"""Deterministic sample data laid out like Udacity's public `udacity-dend` S3 bucket.

The Sparkify dataset has three parts, reproduced here under one folder:

* `song_data/A/B/C/TRABC....json`: Million Song Dataset extracts, one JSON song
  object per file (some files are pretty-printed, some hold two objects);
* `log_data/YYYY/MM/YYYY-MM-DD-events.json`: eventsim app activity, one
  newline-delimited JSON file per UTC day;
* `log_json_path.json`: the JSONPaths file Redshift `COPY` uses for the logs.

The quirks of the real data are kept on purpose: artists whose attributes differ
from song to song, plays of songs missing from the catalogue (or with another
length), logged-out and guest traffic, users switching level. The same
`SampleSpec` always gives byte-identical files.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from typing import Any

# The eventsim fields of a log event, in the order of the staging_events columns they load.
EVENT_FIELDS = (
    "artist",
    "auth",
    "firstName",
    "gender",
    "itemInSession",
    "lastName",
    "length",
    "level",
    "location",
    "method",
    "page",
    "registration",
    "sessionId",
    "song",
    "status",
    "ts",
    "userAgent",
    "userId",
)
_ALNUM = string.ascii_uppercase + string.digits
_DAY_MS = 86_400_000
_MAX_SESSION_MS = 95 * 60_000

# Vocabulary; a few entries carry non-ASCII characters or quotes, like the real data.
_SPECIAL_ARTISTS = ("Beyoncé", "Sigur Rós", "Guns N' Roses", "Motörhead")
_SPECIAL_TITLES = ("Don't Stop", "Hoppípolla", "Café Society", "Rock 'n' Roll Star")
_ADJECTIVES = (
    "Blue",
    "Broken",
    "Electric",
    "Golden",
    "Hollow",
    "Silent",
    "Wild",
    "Velvet",
    "Crimson",
    "Lonely",
    "Neon",
    "Paper",
    "Midnight",
    "Sweet",
    "Cold",
    "Lost",
)
_NOUNS = (
    "Heart",
    "River",
    "Dream",
    "Highway",
    "Mirror",
    "Fire",
    "Garden",
    "Signal",
    "Shadow",
    "Letter",
    "Ocean",
    "Machine",
    "Summer",
    "Echo",
    "Angel",
    "Stone",
)
_ARTIST_PLACES: tuple[tuple[str, float | None, float | None], ...] = (
    ("Los Angeles, CA", 34.05349, -118.24532),
    ("London, England", 51.50632, -0.12714),
    ("Reykjavík, Iceland", 64.13548, -21.89541),
    ("Houston, TX", 29.76045, -95.36978),
    ("Brooklyn, NY", 40.65507, -73.94888),
    ("Montréal, Québec, Canada", 45.51228, -73.55439),
    ("Kingston, Jamaica", 18.01585, -76.79771),
    ("Berlin, Germany", 52.51607, 13.37698),
    ("Nashville, TN", 36.16778, -86.77836),
    ("Stockholm, Sweden", 59.33217, 18.06243),
)
_FIRST_NAMES = (
    ("Lily", "F"),
    ("Jacob", "M"),
    ("Kate", "F"),
    ("Ryan", "M"),
    ("Chloe", "F"),
    ("Aleena", "F"),
    ("Tegan", "F"),
    ("Jayden", "M"),
    ("Mohammad", "M"),
    ("Rylan", "M"),
    ("Ava", "F"),
    ("Noah", "M"),
    ("Zoë", "F"),
    ("Liam", "M"),
)
_LAST_NAMES = (
    "Koch",
    "Klein",
    "Harrell",
    "Smith",
    "Cuevas",
    "Kirby",
    "Levine",
    "Fox",
    "Rodriguez",
    "George",
    "Robinson",
    "O'Brien",
    "Nguyen",
    "Hart",
)
_USER_LOCATIONS = (
    "San Francisco-Oakland-Hayward, CA",
    "Chicago-Naperville-Elgin, IL-IN-WI",
    "New York-Newark-Jersey City, NY-NJ-PA",
    "Atlanta-Sandy Springs-Roswell, GA",
    "Lansing-East Lansing, MI",
    "Tampa-St. Petersburg-Clearwater, FL",
    "Houston-The Woodlands-Sugar Land, TX",
    "Portland-South Portland, ME",
)
_USER_AGENTS = (  # eventsim quotes the agents that contain a comma
    '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36"',
    '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/36.0.1985.125 Safari/537.36"',
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 '
    '(KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53"',
)
# Pages other than NextSong seen in a logged-in session: (page, weight, levels).
_OTHER_PAGES = (
    ("Home", 30, "free paid"),
    ("Thumbs Up", 15, "free paid"),
    ("Add to Playlist", 8, "free paid"),
    ("Roll Advert", 10, "free"),
    ("Thumbs Down", 4, "free paid"),
    ("Settings", 4, "free paid"),
    ("Save Settings", 2, "free paid"),
    ("Help", 4, "free paid"),
    ("About", 2, "free paid"),
    ("Upgrade", 3, "free"),
    ("Downgrade", 3, "paid"),
    ("Error", 1, "free paid"),
)


@dataclass(frozen=True)
class SampleSpec:
    """How much data to generate, and from which seed."""

    seed: int = 42
    songs: int = 120  # catalogue size (number of songs)
    users: int = 30
    first_day: date = date(2018, 11, 1)
    days: int = 30
    sessions_per_day: int = 25


@dataclass(frozen=True)
class SampleSummary:
    """What `generate` wrote."""

    song_files: int
    songs: int
    log_files: int
    events: int


@dataclass
class _User:
    profile: dict  # the event fields describing the user (firstName, userId, ...)
    level: str
    activity: float  # relative chance of being picked for a session
    switch_day: int | None = None  # day index from which the user changes level
    busy_until: int = 0  # end of the user's last session (epoch ms)


# Profile fields of events without a logged-in user.
_ANONYMOUS = {
    "firstName": None,
    "gender": None,
    "lastName": None,
    "location": None,
    "registration": None,
    "userAgent": None,
    "userId": "",
}


def _uid(rng: random.Random, prefix: str, taken: set[str]) -> str:
    """A fresh id like the dataset's: prefix + 16 uppercase letters and digits."""
    while True:
        value = prefix + "".join(rng.choices(_ALNUM, k=16))
        if value not in taken:
            taken.add(value)
            return value


def _fixed5(rng: random.Random, low: int, high: int) -> float:
    """A float written with exactly five decimals, e.g. 218.93179."""
    units = rng.randrange(low * 100_000, high * 100_000)
    return (units - units % 10 + rng.randint(1, 9)) / 100_000  # last digit never 0


def _fresh_name(rng: random.Random, taken: set[str]) -> str:
    """An artist name not in `taken` (which it joins)."""
    attempt = 0
    while True:
        adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        name = rng.choice(
            (
                f"The {adjective} {noun}s",
                f"{adjective} {noun}",
                f"{rng.choice(_FIRST_NAMES)[0]} {rng.choice(_LAST_NAMES)}",
            )
        )
        if attempt > 20:  # vocabulary exhausted: number the name
            name = f"{name} {rng.randint(2, 9999)}"
        if name not in taken:
            taken.add(name)
            return name
        attempt += 1


def _title(rng: random.Random) -> str:
    adjective, noun, other = rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_NOUNS)
    return rng.choice((f"{adjective} {noun}", f"{noun} of the {other}", f"My {adjective} {noun}"))


def _song_files(rng: random.Random, count: int) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The song catalogue, and the song files as (relative path, text)."""
    ids: set[str] = set()
    names: set[str] = set(_SPECIAL_ARTISTS)
    artists: list[tuple[str, str, str, float | None, float | None]] = []
    for i in range(max(1, count // 3)):
        name = _SPECIAL_ARTISTS[i] if i < len(_SPECIAL_ARTISTS) else _fresh_name(rng, names)
        place, lat, lon = rng.choice(_ARTIST_PLACES)
        roll = rng.random()
        if roll < 0.25:  # unknown location
            place, lat, lon = "", None, None
        elif roll < 0.45:  # location without coordinates
            lat = lon = None
        artists.append((_uid(rng, "AR", ids), name, place, lat, lon))

    # Every artist gets a song, the rest go to random artists.
    owners = list(range(len(artists))) + [rng.randrange(len(artists)) for _ in range(count)]
    owners = owners[:count]
    rng.shuffle(owners)
    songs: list[dict[str, Any]] = []
    tracks, keys = [], set()
    for k, owner in enumerate(owners):
        artist_id, name, place, lat, lon = artists[owner]
        title = _SPECIAL_TITLES[k] if k < len(_SPECIAL_TITLES) else _title(rng)
        duration = _fixed5(rng, 60, 420)
        while (title, name, duration) in keys:  # never two songs with the same play key
            duration = _fixed5(rng, 60, 420)
        keys.add((title, name, duration))
        songs.append(
            {
                "num_songs": 1,
                "artist_id": artist_id,
                "artist_latitude": lat,
                "artist_longitude": lon,
                "artist_location": place,
                "artist_name": name,
                "song_id": _uid(rng, "SO", ids),
                "title": title,
                "duration": duration,
                "year": 0 if rng.random() < 0.35 else rng.randint(1965, 2010),
            }
        )
        tracks.append(_uid(rng, "TR", ids))

    # ~10% of the files hold two songs, ~15% are pretty-printed.
    pairs = max(1, round(count / 11)) if count >= 2 else 0
    n_files = count - pairs
    paired = set(rng.sample(range(n_files), pairs))
    pretty = set(rng.sample(range(n_files), max(1, round(n_files * 0.15)) if n_files else 0))
    groups, start = [], 0
    for f in range(n_files):
        size = 2 if f in paired else 1
        groups.append(list(range(start, start + size)))
        start += size
    position = {i: (tracks[group[0]], n) for group in groups for n, i in enumerate(group)}

    # ~20% of the artists (with 2+ songs and a location) have inconsistent attributes:
    # the song read first gets the reference values, later ones a variant, and the
    # song ids are reversed so the smallest song_id is not in the first file.
    by_artist: dict[str, list[int]] = {}
    for i, song in enumerate(songs):
        by_artist.setdefault(song["artist_id"], []).append(i)
    candidates = [ix for ix in by_artist.values() if len(ix) > 1 and songs[ix[0]]["artist_location"]]
    for ix in rng.sample(candidates, min(len(candidates), max(1, round(len(artists) * 0.2)))):
        ix.sort(key=position.__getitem__)
        song_ids = sorted((songs[i]["song_id"] for i in ix), reverse=True)
        for n, i in enumerate(ix):
            song = songs[i]
            song["song_id"] = song_ids[n]
            if n:
                song["artist_location"] = song["artist_location"].split(",")[0]
                if song["artist_latitude"] is not None:
                    delta = rng.choice((-1, 1)) * rng.randint(1, 5000) / 100_000
                    song["artist_latitude"] = round(song["artist_latitude"] + delta, 5)

    files = []
    for f, group in enumerate(groups):
        track = tracks[group[0]]
        indent = 4 if f in pretty else None
        texts = [json.dumps(songs[i], ensure_ascii=False, indent=indent) for i in group]
        path = f"song_data/{track[2]}/{track[3]}/{track[4]}/{track}.json"
        files.append((path, rng.choice(("\n", " ")).join(texts)))
    return songs, files


def _day_start_ms(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=timezone.utc).timestamp()) * 1000


class _EventLog:
    """Simulates eventsim: users, sessions and their page events, one day at a time."""

    def __init__(self, rng: random.Random, spec: SampleSpec, catalogue: list[dict]) -> None:
        self.rng = rng
        self.catalogue = catalogue
        self.keys = {(s["title"], s["artist_name"], s["duration"]) for s in catalogue}
        self.popularity = list(accumulate(1 / (k + 1) ** 0.5 for k in range(len(catalogue))))
        names = {s["artist_name"] for s in catalogue}
        # Songs absent from the catalogue (their artists are absent too).
        self.unknown = [
            (_fresh_name(rng, names), _title(rng), _fixed5(rng, 60, 420)) for _ in range(max(10, len(catalogue) // 2))
        ]
        first_ms = _day_start_ms(spec.first_day)
        self.users = []
        for user_id in rng.sample(range(2, 2 + 4 * spec.users), spec.users):
            first_name, gender = rng.choice(_FIRST_NAMES)
            profile = {
                "firstName": first_name,
                "gender": gender,
                "lastName": rng.choice(_LAST_NAMES),
                "location": rng.choice(_USER_LOCATIONS),
                "registration": float(first_ms - rng.randrange(_DAY_MS, 120 * _DAY_MS)),
                "userAgent": rng.choice(_USER_AGENTS),
                "userId": str(user_id),
            }
            level = "paid" if rng.random() < 0.3 else "free"
            self.users.append(_User(profile, level, rng.uniform(0.2, 3.0)))
        for user in rng.sample(self.users, min(len(self.users), max(1, round(spec.users * 0.3)))):
            user.switch_day = rng.randrange(max(1, spec.days // 2))
        self.next_session = rng.randint(1, 100)
        self.spec = spec
        self.events: list[dict] = []  # the current day's events ...
        self.used: set[int] = set()  # ... and their timestamps
        self.day_end = 0

    def day(self, index: int, day_start: int) -> list[dict]:
        """All events of one UTC day, sorted by ts (unique within the day)."""
        rng, n = self.rng, self.spec.sessions_per_day
        self.events, self.used = [], set()
        self.day_end = day_start + _DAY_MS
        kinds = [rng.choices(("user", "logged_out", "guest"), (81, 12, 7))[0] for _ in range(n)]
        for kind in ("guest", "logged_out") if index == 0 else ():  # even in tiny specs
            if kind not in kinds and "user" in kinds:
                kinds[kinds.index("user")] = kind
        starts = sorted(rng.randrange(day_start, day_start + 22 * 3_600_000) for _ in range(n))
        for kind, start in zip(kinds, starts, strict=True):
            free = [u for u in self.users if u.busy_until < start]
            if kind == "user" and free:
                user = rng.choices(free, [u.activity for u in free])[0]
                self._session(self._user_pages(user, index), "Logged In", start, user)
            elif kind == "guest":
                self._session(["Home"] + ["NextSong"] * rng.randint(1, 4), "Guest", start)
            else:
                extra = rng.choices(("Home", "Login", "About", "Help"), k=rng.randint(0, 3))
                pages = ["Home", *extra]
                self._session(pages, "Logged Out", start, level=rng.choice(("free", "paid")))
        return sorted(self.events, key=lambda event: event["ts"])

    def _user_pages(self, user: _User, index: int) -> Iterator[str]:
        """Pages of a logged-in session, drawn lazily so they follow level changes."""
        rng = self.rng
        n = rng.randint(6, 40)
        switching = user.switch_day is not None and index >= user.switch_day
        switch_at = rng.randrange(n) if switching else -1
        if rng.random() < 0.5:
            yield "Home"
        for k in range(n):
            if k == switch_at:
                yield from (
                    ("Upgrade", "Submit Upgrade") if user.level == "free" else ("Downgrade", "Submit Downgrade")
                )
            if rng.random() < 0.82:
                yield "NextSong"
            else:
                options = [(page, weight) for page, weight, levels in _OTHER_PAGES if user.level in levels]
                yield rng.choices([p for p, _ in options], [w for _, w in options])[0]
        if rng.random() < 0.3:
            yield "Logout"

    def _play(self) -> tuple[str, str, float]:
        """(artist, song, length) of a NextSong: ~70% catalogue, ~3% wrong length, rest unknown."""
        rng, roll = self.rng, self.rng.random()
        if roll >= 0.73 or not self.catalogue:
            return rng.choice(self.unknown)
        song = rng.choices(self.catalogue, cum_weights=self.popularity)[0]
        artist, title, length = song["artist_name"], song["title"], song["duration"]
        while roll >= 0.70 and (title, artist, length) in self.keys:  # must not match
            shift = rng.choice((-1, 1)) * rng.randint(1, 30) * 100_000
            length = (round(song["duration"] * 100_000) + shift) / 100_000
        return artist, title, length

    def _session(
        self, pages: Iterable[str], auth: str, start: int, user: _User | None = None, level: str = "free"
    ) -> None:
        session_id = self.next_session
        self.next_session += 1
        ts = start
        for item, page in enumerate(pages):
            while ts in self.used:  # keep ts unique within the day file
                ts += 1
            if ts >= self.day_end or ts - start > _MAX_SESSION_MS:
                break
            self.used.add(ts)
            artist, song, length = self._play() if page == "NextSong" else (None, None, None)
            submit = page.startswith("Submit")
            fields = {
                "artist": artist,
                "auth": auth,
                "itemInSession": item,
                "length": length,
                "level": user.level if user else level,
                "page": page,
                "sessionId": session_id,
                "method": "PUT" if page == "NextSong" or submit else "GET",
                "song": song,
                "status": 404 if page == "Error" else 307 if submit or page == "Logout" else 200,
                "ts": ts,
                **(user.profile if user else _ANONYMOUS),
            }
            self.events.append({name: fields[name] for name in EVENT_FIELDS})
            if user and submit:  # the level changes after the Submit event
                user.level = "paid" if page == "Submit Upgrade" else "free"
                user.switch_day = None
            ts += round(length * 1000) if length else self.rng.randint(3_000, 90_000)
        if user:
            user.busy_until = ts


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def generate(out_dir: Path, spec: SampleSpec = SampleSpec()) -> SampleSummary:
    """Write the sample bucket into `out_dir` and say what was written."""
    out_dir = Path(out_dir)
    rng = random.Random(spec.seed)
    jsonpaths = {"jsonpaths": [f"$['{name}']" for name in EVENT_FIELDS]}
    _write(out_dir / "log_json_path.json", json.dumps(jsonpaths, indent=4) + "\n")

    catalogue, song_files = _song_files(rng, spec.songs)
    for path, text in song_files:
        _write(out_dir / path, text)

    log, events = _EventLog(rng, spec, catalogue), 0
    for index in range(spec.days):
        day = spec.first_day + timedelta(days=index)
        lines = [
            json.dumps(event, ensure_ascii=False, separators=(",", ":")) for event in log.day(index, _day_start_ms(day))
        ]
        _write(out_dir / f"log_data/{day:%Y/%m}/{day:%Y-%m-%d}-events.json", "".join(line + "\n" for line in lines))
        events += len(lines)
    return SampleSummary(len(song_files), len(catalogue), spec.days, events)
