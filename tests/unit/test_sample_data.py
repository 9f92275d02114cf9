"""Tests of the deterministic `udacity-dend` look-alike sample data generator."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

import pytest

from local_stack.sample_data import EVENT_FIELDS, SampleSpec, SampleSummary, generate

SPEC = SampleSpec(seed=7, songs=45, users=10, days=3, sessions_per_day=10)
SONG_KEYS = [
    "num_songs",
    "artist_id",
    "artist_latitude",
    "artist_longitude",
    "artist_location",
    "artist_name",
    "song_id",
    "title",
    "duration",
    "year",
]
SONG_PATH = re.compile(r"song_data/([A-Z0-9])/([A-Z0-9])/([A-Z0-9])/(TR[A-Z0-9]{16})\.json")
LOG_PATH = re.compile(r"log_data/(\d{4})/(\d{2})/(\d{4})-(\d{2})-(\d{2})-events\.json")


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleSummary]:
    out = tmp_path_factory.mktemp("bucket")
    return out, generate(out, SPEC)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def parse_objects(text: str) -> list[dict]:
    """All JSON objects of a file holding one or more, separated by whitespace."""
    decoder, objects, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return objects
        obj, i = decoder.raw_decode(text, i)
        objects.append(obj)


def song_files(root: Path) -> dict[str, list[dict]]:
    return {
        p.relative_to(root).as_posix(): parse_objects(p.read_text(encoding="utf-8"))
        for p in sorted((root / "song_data").rglob("*.json"))
    }


def events(root: Path) -> list[dict]:
    return [
        json.loads(line)
        for p in sorted((root / "log_data").rglob("*.json"))
        for line in p.read_text(encoding="utf-8").splitlines()
    ]


def test_same_spec_gives_identical_bytes_and_another_seed_differs(tmp_path: Path, bucket):
    first = snapshot(bucket[0])
    assert generate(tmp_path / "again", SPEC) == bucket[1]
    assert snapshot(tmp_path / "again") == first
    generate(tmp_path / "other", replace(SPEC, seed=SPEC.seed + 1))
    assert snapshot(tmp_path / "other") != first


def test_layout_and_summary(bucket):
    root, summary = bucket
    paths = sorted(snapshot(root))
    song_paths = [p for p in paths if p.startswith("song_data/")]
    log_paths = [p for p in paths if p.startswith("log_data/")]
    assert set(paths) == {"log_json_path.json", *song_paths, *log_paths}
    for path in song_paths:
        c2, c3, c4, track = SONG_PATH.fullmatch(path).groups()
        assert (c2, c3, c4) == (track[2], track[3], track[4])
    assert log_paths == [f"log_data/2018/11/2018-11-0{d}-events.json" for d in (1, 2, 3)]
    assert all(LOG_PATH.fullmatch(p) for p in log_paths)
    objects = [o for objs in song_files(root).values() for o in objs]
    assert summary == SampleSummary(len(song_paths), len(objects), 3, len(events(root)))
    assert summary.songs == SPEC.songs
    jsonpaths = json.loads((root / "log_json_path.json").read_text())
    assert list(jsonpaths) == ["jsonpaths"]
    assert jsonpaths["jsonpaths"] == [f"$['{name}']" for name in EVENT_FIELDS]
    assert len(EVENT_FIELDS) == 18


def test_song_files_have_the_real_shape_and_quirks(bucket):
    root = bucket[0]
    files = song_files(root)
    texts = {p: (root / p).read_text(encoding="utf-8") for p in files}
    assert any("\n" in t and len(files[p]) == 1 for p, t in texts.items())  # pretty-printed
    assert any(len(objs) > 1 for objs in files.values())  # concatenated objects
    songs = [o for objs in files.values() for o in objs]
    for song in songs:
        assert list(song) == SONG_KEYS
        assert song["num_songs"] == 1
        assert re.fullmatch(r"AR[A-Z0-9]{16}", song["artist_id"])
        assert re.fullmatch(r"SO[A-Z0-9]{16}", song["song_id"])
        assert isinstance(song["duration"], float) and isinstance(song["year"], int)
        assert re.fullmatch(r"\d+\.\d{5}", json.dumps(song["duration"]))
    assert len({(s["title"], s["artist_name"], s["duration"]) for s in songs}) == len(songs)
    assert len({s["song_id"] for s in songs}) == len(songs)
    names_and_titles = [s["artist_name"] for s in songs] + [s["title"] for s in songs]
    assert any(not n.isascii() for n in names_and_titles)
    assert any("'" in n for n in names_and_titles)

    # Some artists have inconsistent attributes, and then the song with the
    # smallest song_id is not the one read first.
    by_artist = defaultdict(list)
    for song in songs:
        by_artist[song["artist_id"]].append(song)
    assert all(len({s["artist_name"] for s in group}) == 1 for group in by_artist.values())
    inconsistent = [
        group for group in by_artist.values() if len({(s["artist_location"], s["artist_latitude"]) for s in group}) > 1
    ]
    assert inconsistent
    for group in inconsistent:
        smallest = min(group, key=lambda s: s["song_id"])
        assert (smallest["artist_location"], smallest["artist_latitude"]) != (
            group[0]["artist_location"],
            group[0]["artist_latitude"],
        )


def test_event_files_are_sorted_ndjson_within_their_day(bucket):
    root = bucket[0]
    for path in sorted((root / "log_data").rglob("*.json")):
        year, month, _, _, day = LOG_PATH.search(path.as_posix()).groups()
        start = int(datetime(int(year), int(month), int(day), tzinfo=timezone.utc).timestamp())
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) > SPEC.sessions_per_day * 5
        stamps = []
        for line in lines:
            event = json.loads(line)
            assert list(event) == list(EVENT_FIELDS)
            assert line == json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            assert start * 1000 <= event["ts"] < (start + 86_400) * 1000
            stamps.append(event["ts"])
        assert stamps == sorted(stamps)


def test_events_follow_eventsim_rules(bucket):
    all_events = events(bucket[0])
    keys, user_ts = set(), defaultdict(list)
    for e in all_events:
        if e["page"] == "NextSong":
            assert e["method"] == "PUT" and e["status"] == 200
            assert isinstance(e["length"], float) and e["artist"] and e["song"]
        else:
            assert e["artist"] is e["song"] is e["length"] is None
        if e["auth"] == "Logged In":
            assert re.fullmatch(r"\d+", e["userId"]) and isinstance(e["registration"], float)
            user_ts[e["userId"]].append(e["ts"])
        else:
            assert e["userId"] == "" and e["firstName"] is None and e["registration"] is None
        if e["auth"] == "Logged Out":
            assert e["page"] in {"Home", "Login", "About", "Help"}
        assert e["level"] in {"free", "paid"}
        keys.add((e["userId"], e["sessionId"], e["itemInSession"]))
    assert len(keys) == len(all_events)
    assert {e["auth"] for e in all_events} == {"Logged In", "Logged Out", "Guest"}
    assert any(e["userAgent"] and e["userAgent"].startswith('"') for e in all_events)
    for stamps in user_ts.values():
        assert all(a < b for a, b in pairwise(sorted(stamps)))


def test_plays_match_the_catalogue_only_sometimes(bucket):
    root = bucket[0]
    songs = [o for objs in song_files(root).values() for o in objs]
    exact = {(s["title"], s["artist_name"], s["duration"]) for s in songs}
    titled = {(s["title"], s["artist_name"]) for s in songs}
    plays = [e for e in events(root) if e["page"] == "NextSong"]
    matching = [p for p in plays if (p["song"], p["artist"], p["length"]) in exact]
    wrong_length = [
        p for p in plays if (p["song"], p["artist"]) in titled and (p["song"], p["artist"], p["length"]) not in exact
    ]
    unknown = [p for p in plays if (p["song"], p["artist"]) not in titled]
    assert 0.5 < len(matching) / len(plays) < 0.9
    assert wrong_length and unknown
    assert any(p["auth"] == "Guest" and p["userId"] == "" for p in plays)


def test_some_users_change_level(bucket):
    levels = defaultdict(list)
    for e in sorted(events(bucket[0]), key=lambda e: e["ts"]):
        if e["userId"]:
            levels[e["userId"]].append((e["page"], e["level"]))
    changed = [u for u, seen in levels.items() if len({level for _, level in seen}) > 1]
    assert changed
    for user in changed:
        seen = levels[user]
        for (page, before), (_, after) in pairwise(seen):
            if before != after:  # a level only changes right after a Submit page
                assert page == ("Submit Upgrade" if after == "paid" else "Submit Downgrade")
