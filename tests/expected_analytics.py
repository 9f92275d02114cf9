"""Each analytics query's answer, computed in Python from the independent model of the star schema.

The model (`tests.expected.expected_star`) is built from the generated JSON files; the
functions below aggregate it the way each question in include/sql/analytics/ is worded,
with the same ordering and limits, so the tests compare whole answers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from tests.expected import StarSchema

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
TOP = 10


def _plays(star: StarSchema) -> list[dict]:
    names = (
        "songplay_id",
        "start_time",
        "user_id",
        "level",
        "song_id",
        "artist_id",
        "session_id",
        "location",
        "user_agent",
    )
    return [dict(zip(names, row)) for row in star.songplays]


def _grouped(plays: list[dict], key: str) -> tuple[Counter, dict]:
    counts, users = Counter(), defaultdict(set)
    for play in plays:
        counts[play[key]] += 1
        users[play[key]].add(play["user_id"])
    return counts, users


def top_songs(star: StarSchema) -> list[tuple]:
    songs = {row[0]: row for row in star.songs}
    artists = {row[0]: row[1] for row in star.artists}
    counts, listeners = _grouped([p for p in _plays(star) if p["song_id"]], "song_id")
    rows = [
        (songs[song_id][1], artists.get(songs[song_id][2]), n, len(listeners[song_id]), song_id)
        for song_id, n in counts.items()
    ]
    rows.sort(key=lambda r: (-r[2], r[0], r[1], r[4]))
    return [r[:4] for r in rows[:TOP]]


def top_artists(star: StarSchema) -> list[tuple]:
    names = {row[0]: row[1] for row in star.artists}
    plays = [p for p in _plays(star) if p["artist_id"]]
    counts, listeners = _grouped(plays, "artist_id")
    songs = defaultdict(set)
    for play in plays:
        songs[play["artist_id"]].add(play["song_id"])
    rows = [(names[a], n, len(songs[a]), len(listeners[a]), a) for a, n in counts.items()]
    rows.sort(key=lambda r: (-r[1], r[0], r[4]))
    return [r[:4] for r in rows[:TOP]]


def plays_by_hour(star: StarSchema) -> list[tuple]:
    counts = Counter(p["start_time"].hour for p in _plays(star))
    return sorted(counts.items())


def plays_by_weekday(star: StarSchema) -> list[tuple]:
    counts = Counter((p["start_time"].weekday() + 1) % 7 for p in _plays(star))  # Python's Monday is 0
    return [(day, WEEKDAYS[day], n) for day, n in sorted(counts.items())]


def free_vs_paid(star: StarSchema) -> list[tuple]:
    plays = _plays(star)
    counts, users = _grouped(plays, "level")
    return [
        (
            level,
            n,
            len(users[level]),
            (Decimal(100 * n) / Decimal(len(plays))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        )
        for level, n in sorted(counts.items())
    ]


def most_active_users(star: StarSchema) -> list[tuple]:
    people = {row[0]: row for row in star.users}
    counts = Counter(p["user_id"] for p in _plays(star))
    sessions = defaultdict(set)
    for play in _plays(star):
        sessions[play["user_id"]].add(play["session_id"])
    rows = [(u, f"{people[u][1]} {people[u][2]}", people[u][4], n, len(sessions[u])) for u, n in counts.items()]
    rows.sort(key=lambda r: (-r[3], r[0]))
    return rows[:TOP]


def top_locations(star: StarSchema) -> list[tuple]:
    counts, users = _grouped([p for p in _plays(star) if p["location"] is not None], "location")
    rows = [(location, n, len(users[location])) for location, n in counts.items()]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows[:TOP]


def browser_family(agent: str | None) -> str:
    """The browser family of a user agent, by its product tokens."""
    if agent is None:
        return "Unknown"
    tokens = (
        ("Edge", ("Edge/", "Edg/")),
        ("Internet Explorer", ("Trident/", "MSIE ")),
        ("Firefox", ("Firefox/",)),
        ("Chrome", ("Chrome/", "CriOS/")),
        ("Mobile Safari", ("iPhone", "iPad")),
        ("Safari", ("Safari/",)),
    )
    return next((family for family, marks in tokens if any(mark in agent for mark in marks)), "Other")


def user_agent_families(star: StarSchema) -> list[tuple]:
    plays = [{**p, "family": browser_family(p["user_agent"])} for p in _plays(star)]
    counts, users = _grouped(plays, "family")
    return sorted(((f, n, len(users[f])) for f, n in counts.items()), key=lambda r: (-r[1], r[0]))


EXPECTED: dict[str, Callable[[StarSchema], list[tuple]]] = {
    "top_songs": top_songs,
    "top_artists": top_artists,
    "plays_by_hour": plays_by_hour,
    "plays_by_weekday": plays_by_weekday,
    "free_vs_paid": free_vs_paid,
    "most_active_users": most_active_users,
    "top_locations": top_locations,
    "user_agent_families": user_agent_families,
}
