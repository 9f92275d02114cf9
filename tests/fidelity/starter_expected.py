"""What Redshift gives for the official starter's SQL over a sample bucket, computed in Python from
the sample files alone (json, Decimal), independently of the emulator.

The starter's columns are NUMERIC(18,0): COPY truncates a JSON number to that scale (Redshift's
default, without ROUNDEC), so `length` and `duration` compare as whole numbers towards zero. Keys
are not enforced: `users` keeps one row per distinct (user, name, gender, level), so a user who
changed level appears twice, and `time` has one row per songplay, duplicates included. NOT NULL
is enforced: an insert that would put a NULL there (a guest's play has an empty userId, which
COPY loads as NULL) fails as a whole on Redshift, and its table stays empty.

`expected_style` does the same for the project's own SQL in the starter's style
(tests/fidelity/starter_style/), row by row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

NOT_NULL = {  # the starter's NOT NULL columns that its inserts fill
    "songplays": "userid",  # playid and start_time are never NULL here: md5 and ts are always set
    "users": "userid",
    "songs": "songid",
    "artists": "artistid",
    "time": "start_time",
}


@dataclass(frozen=True)
class Expected:
    """Rows per table after staging and the five inserts; `failing` maps an insert that Redshift
    refuses (a NULL into a NOT NULL column: Redshift enforces NOT NULL) to that column."""

    rows: dict[str, int]
    failing: dict[str, str]


def _numeric_18_0(value: Any) -> Decimal | None:
    """A JSON number as COPY stores it in NUMERIC(18,0): truncated to the scale."""
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_DOWN)


def _int(value: Any) -> int | None:
    """A JSON value as COPY stores it in INT4: an empty string is NULL."""
    return None if value is None or value == "" else int(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _objects(path: Path) -> list[dict[str, Any]]:
    decoder, text, at = json.JSONDecoder(parse_float=Decimal), path.read_text(encoding="utf-8"), 0
    found: list[dict[str, Any]] = []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return found
        obj, at = decoder.raw_decode(text, at)
        found.append(obj)


def expected(sample: Path) -> Expected:
    """What the starter's staging, fact and dimension tables hold after its inserts, on Redshift."""
    events = [e for p in sorted((sample / "log_data").rglob("*.json")) for e in _objects(p)]
    songs = [s for p in sorted((sample / "song_data").rglob("*.json")) for s in _objects(p)]

    plays = [e for e in events if e.get("page") == "NextSong"]
    catalogue: dict[tuple[Any, ...], int] = {}
    for s in songs:
        key = (_text(s.get("title")), _text(s.get("artist_name")), _numeric_18_0(s.get("duration")))
        catalogue[key] = catalogue.get(key, 0) + 1
    # LEFT JOIN: one row per matching song, else one row; a NULL key matches nothing
    songplay_users: list[tuple[Any, ...]] = []
    for e in plays:
        key = (_text(e.get("song")), _text(e.get("artist")), _numeric_18_0(e.get("length")))
        matches = catalogue.get(key, 0) if None not in key else 0
        songplay_users += [(_int(e.get("userId")),)] * max(1, matches)

    users = {
        (_int(e.get("userId")), e.get("firstName"), e.get("lastName"), e.get("gender"), e.get("level")) for e in plays
    }
    song_rows = {
        (s.get("song_id"), s.get("title"), s.get("artist_id"), s.get("year"), _numeric_18_0(s.get("duration")))
        for s in songs
    }
    artist_rows = {
        (
            s.get("artist_id"),
            s.get("artist_name"),
            s.get("artist_location"),
            _numeric_18_0(s.get("artist_latitude")),
            _numeric_18_0(s.get("artist_longitude")),
        )
        for s in songs
    }
    inserted: dict[str, list[tuple[Any, ...]]] = {
        "songplays": songplay_users,
        "users": sorted(users, key=repr),
        "songs": sorted(song_rows, key=repr),
        "artists": sorted(artist_rows, key=repr),
    }
    failing = {t: NOT_NULL[t] for t, rows in inserted.items() if any(row[0] is None for row in rows)}
    rows = {"staging_events": len(events), "staging_songs": len(songs)}
    rows |= {t: 0 if t in failing else len(found) for t, found in inserted.items()}
    rows["time"] = rows["songplays"]  # one row per songplay, duplicates included
    return Expected(rows, failing)


# -- the project's own SQL in the starter's style (tests/fidelity/starter_style/) -----------------
# Its staging columns are FLOAT where the starter has NUMERIC(18,0), so a JSON number is compared as
# the double it reads as; ts is BIGINT, so `ts / 1000` divides integers and start_time has whole
# seconds (https://docs.aws.amazon.com/redshift/latest/dg/r_numeric_computations201.html).
STYLE_NOT_NULL = {  # the NOT NULL columns of starter_style/create_tables.sql that its inserts fill
    "songplays": ("playid", "start_time", "userid"),
    "users": ("userid",),
    "songs": ("songid",),
    "artists": ("artistid",),
    "time": ("start_time",),
}
EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class StyleExpected:
    """Rows per table, the inserts Redshift refuses (table -> the NOT NULL column a NULL goes
    into), and the rows each star table holds, in the order of its columns."""

    rows: dict[str, int]
    failing: dict[str, str]
    tables: dict[str, list[tuple[Any, ...]]]


def _float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def redshift_text(value: int | datetime) -> str:
    """A value as `||` turns it into text on Redshift: a whole-second TIMESTAMP in its default
    form, YYYY-MM-DD HH:MI:SS (r_Examples_with_datetime_types.html), an integer in digits."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value)


def playid(sessionid: int | None, start_time: datetime) -> str | None:
    """md5(sessionid || start_time): NULL when sessionid is NULL, as `||` gives NULL."""
    if sessionid is None:
        return None
    return hashlib.md5((redshift_text(sessionid) + redshift_text(start_time)).encode()).hexdigest()


def time_row(start_time: datetime) -> tuple[Any, ...]:
    """EXTRACT's hour, day, week (ISO 8601), month, year and dayofweek (Sunday = 0)."""
    weekday = (start_time.weekday() + 1) % 7  # Python: Monday = 0
    iso_week = start_time.isocalendar()[1]
    return (start_time, start_time.hour, start_time.day, iso_week, start_time.month, start_time.year, weekday)


def expected_style(sample: Path) -> StyleExpected:
    """What starter_style/create_tables.sql and inserts.sql give on Redshift over a sample."""
    events = [e for p in sorted((sample / "log_data").rglob("*.json")) for e in _objects(p)]
    songs = [s for p in sorted((sample / "song_data").rglob("*.json")) for s in _objects(p)]
    plays = [e for e in events if e.get("page") == "NextSong"]

    catalogue: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for s in songs:
        key = (_text(s.get("title")), _text(s.get("artist_name")), _float(s.get("duration")))
        catalogue.setdefault(key, []).append((_text(s.get("song_id")), _text(s.get("artist_id"))))
    songplays: list[tuple[Any, ...]] = []
    for e in plays:
        start_time = EPOCH + timedelta(seconds=int(e["ts"]) // 1000)  # ts > 0: // truncates as `/` does
        key = (_text(e.get("song")), _text(e.get("artist")), _float(e.get("length")))
        matches = catalogue.get(key, []) if None not in key else []  # LEFT JOIN: NULL matches nothing
        sessionid, userid = _int(e.get("sessionId")), _int(e.get("userId"))
        for song_id, artist_id in matches or [(None, None)]:
            songplays.append(
                (
                    playid(sessionid, start_time),
                    start_time,
                    userid,
                    e.get("level"),
                    song_id,
                    artist_id,
                    sessionid,
                    e.get("location"),
                    e.get("userAgent"),
                )
            )
    users = {
        (_int(e.get("userId")), e.get("firstName"), e.get("lastName"), e.get("gender"), e.get("level")) for e in plays
    }
    song_rows = {
        (s.get("song_id"), s.get("title"), s.get("artist_id"), _int(s.get("year")), _float(s.get("duration")))
        for s in songs
    }
    artist_rows = {
        (
            s.get("artist_id"),
            s.get("artist_name"),
            s.get("artist_location"),
            _float(s.get("artist_latitude")),
            _float(s.get("artist_longitude")),
        )
        for s in songs
    }
    positions = {"songplays": (0, 1, 2), "users": (0,), "songs": (0,), "artists": (0,)}
    tables: dict[str, list[tuple[Any, ...]]] = {
        "songplays": songplays,
        "users": sorted(users, key=repr),
        "songs": sorted(song_rows, key=repr),
        "artists": sorted(artist_rows, key=repr),
    }
    failing: dict[str, str] = {}
    for table, found in tables.items():
        for position in positions[table]:
            if any(row[position] is None for row in found):
                failing[table] = STYLE_NOT_NULL[table][position]
                break
    tables = {t: [] if t in failing else found for t, found in tables.items()}
    tables["time"] = [time_row(row[1]) for row in tables["songplays"]]  # one per songplay, no DISTINCT
    rows = {"staging_events": len(events), "staging_songs": len(songs)} | {t: len(r) for t, r in tables.items()}
    return StyleExpected(rows, failing, tables)
