"""StageToRedshiftOperator on the real local stack: moto S3 objects through the Redshift emulator.

A data error fails the task at once (AirflowFailException) with its reject in stl_load_errors and
in the task log; a COPY that cannot run at all raises CopyFailed, which the task's retries cover.

Every expectation is computed here from the JSON the test writes (with the json
module), never with project code. Each test uses its own key prefix in a bucket
of its own, so the tests do not see each other's objects.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException

from local_stack.sample_data import EVENT_FIELDS
from sparkify.operators.stage_to_redshift import StageToRedshiftOperator
from sparkify.s3copy.redshift_copy import CopyFailed
from tests.support import clear_prefix, put_objects, reset_schema, task_context, the_only_reject

pytestmark = pytest.mark.integration

BUCKET = "sparkify-stage-tests"
HOUR = ("2018-11-15T00:00:00Z", "2018-11-15T01:00:00Z")
EPOCH = datetime(1970, 1, 1)

# The staging_events columns (the eventsim fields, lower-cased, in their order) and how each is typed.
EVENT_COLUMNS = tuple(f.lower() for f in EVENT_FIELDS)
INTEGER_FIELDS = {"itemInSession", "sessionId", "status", "userId"}
FLOAT_FIELDS = {"length", "registration"}
SONG_COLUMNS = (
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
)


# ---------------------------------------------------------------- source data


def event(ts: int, user_id: str = "39", **fields) -> dict:
    """A logged-in NextSong event; `fields` override any attribute."""
    base = {
        "artist": "Beyoncé",
        "auth": "Logged In",
        "firstName": "Zoë",
        "gender": "F",
        "itemInSession": 3,
        "lastName": "O'Brien",
        "length": 218.93179,
        "level": "paid",
        "location": "Montréal, Québec, Canada",
        "method": "PUT",
        "page": "NextSong",
        "registration": 1540919166796.0,
        "sessionId": 38,
        "song": "Hoppípolla",
        "status": 200,
        "ts": ts,
        "userAgent": '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko)"',
        "userId": user_id,
    }
    return {**base, **fields}


def guest_event(ts: int) -> dict:
    """A guest's Home page view: no user, blank strings, empty userId."""
    return event(
        ts,
        user_id="",
        artist=None,
        auth="Guest",
        firstName=None,
        gender=None,
        lastName=None,
        length=None,
        level="free",
        location="   ",
        method="GET",
        page="Home",
        registration=None,
        song=None,
        userAgent="",
        itemInSession=0,
        sessionId=412,
    )


def song(n: int, **fields) -> dict:
    base = {
        "num_songs": 1,
        "artist_id": f"AR{n:016d}",
        "artist_latitude": 64.13548 + n,
        "artist_longitude": -21.89541 - n,
        "artist_location": "Reykjavík, Iceland",
        "artist_name": f"Sigur Rós {n}",
        "song_id": f"SO{n:016d}",
        "title": f"Café Society {n}",
        "duration": 152.92036 + n,
        "year": 1990 + n,
    }
    return {**base, **fields}


def ndjson(records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def ms(moment: datetime) -> int:
    return int((moment - EPOCH) / timedelta(milliseconds=1))


# ------------------------------------------------------ independent expectations


def expected_event_row(record: dict) -> tuple:
    """The staging_events row Redshift COPY (jsonpaths, epochmillisecs, BLANKSASNULL, EMPTYASNULL) loads."""
    row = []
    for field in EVENT_FIELDS:
        value = record.get(field)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            row.append(None)
        elif field == "ts":
            row.append(EPOCH + timedelta(milliseconds=value))
        elif field in INTEGER_FIELDS:
            row.append(int(value))
        elif field in FLOAT_FIELDS:
            row.append(float(value))
        else:
            row.append(value)
    return tuple(row)


def expected_song_row(record: dict) -> tuple:
    return tuple(record.get(column) for column in SONG_COLUMNS)


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def db_schema(db):
    """A fresh warehouse schema for every test."""
    reset_schema(db)
    return db


@pytest.fixture
def prefix(s3, request) -> str:
    """An empty key prefix of the test's own."""
    name = f"{request.node.name.replace('[', '-').rstrip(']')}/"
    clear_prefix(s3, BUCKET, name)
    return name


@pytest.fixture
def jsonpaths(s3, prefix) -> str:
    """The s3:// URI of a jsonpaths file with the 18 event paths in column order (outside `prefix`)."""
    key = f"jsonpaths/{prefix}log_json_path.json"
    put_objects(s3, BUCKET, {key: json.dumps({"jsonpaths": [f"$['{f}']" for f in EVENT_FIELDS]}, indent=4)})
    return f"s3://{BUCKET}/{key}"


def stage(table: str, key, window=HOUR, method: str = "REPLACE", **copy_options) -> int:
    """Run the operator the way a task would, for `window`, with these COPY options; returns its result."""
    op = StageToRedshiftOperator(
        task_id=f"stage_{table}", table=table, s3_bucket=BUCKET, s3_key=key, method=method, copy_options=copy_options
    )
    return op.execute(task_context(*window))


def stage_events(key, jsonpaths: str, window=HOUR, method: str = "REPLACE", **copy_options) -> int:
    copy_options = {"timeformat": "epochmillisecs", "blanks_as_null": True, "empty_as_null": True, **copy_options}
    return stage("staging_events", key, window, method, json_format=jsonpaths, **copy_options)


def table_rows(db, table: str, columns) -> list[tuple]:
    return db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(columns)}").fetchall()


def event_rows(db) -> list[tuple]:
    return db.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM staging_events ORDER BY ts, sessionid").fetchall()


def sorted_rows(rows) -> list[tuple]:
    return sorted(rows, key=lambda r: tuple((v is None, v if v is not None else 0) for v in r))


def prefill_events(db) -> list[tuple]:
    """Known rows in staging_events, to show that a failed load leaves them alone."""
    db.execute(
        "INSERT INTO staging_events (artist, page, sessionid, ts, userid) VALUES "
        "('Old Artist', 'NextSong', 1, '2018-11-01 10:00:00', 7), ('Other', 'Home', 2, '2018-11-01 11:00:00', NULL)"
    )
    return event_rows(db)


# ---------------------------------------------------------------- 1. events with jsonpaths


def test_events_load_through_jsonpaths_with_redshift_casting(s3, db_schema, prefix, jsonpaths):
    records = [
        event(ms(datetime(2018, 11, 15, 0, 30, 26, 796000)), user_id="39"),
        guest_event(ms(datetime(2018, 11, 15, 0, 12, 0, 5000))),
        event(
            ms(datetime(2018, 11, 15, 0, 45, 1)),
            user_id="8",
            artist="Motörhead",
            song="Ace of Spades",
            length=166.39628,
            gender="M",
            firstName="Kaylee",
            lastName="Summers",
            sessionId=139,
        ),
    ]
    key = f"{prefix}log_data/2018/11/2018-11-15-events.json"
    put_objects(s3, BUCKET, {key: ndjson(records)})

    loaded = stage_events(key, jsonpaths)

    assert loaded == len(records)
    rows = event_rows(db_schema)
    assert rows == sorted(map(expected_event_row, records), key=lambda r: r[EVENT_COLUMNS.index("ts")])
    by_user = {r[EVENT_COLUMNS.index("sessionid")]: dict(zip(EVENT_COLUMNS, r)) for r in rows}
    guest, zoe = by_user[412], by_user[38]
    assert guest["userid"] is None  # "" into INTEGER
    assert guest["location"] is None and guest["useragent"] is None  # BLANKSASNULL, EMPTYASNULL
    assert zoe["userid"] == 39
    assert zoe["ts"] == datetime(2018, 11, 15, 0, 30, 26, 796000)
    assert zoe["length"] == 218.93179
    assert (zoe["artist"], zoe["firstname"], zoe["song"]) == ("Beyoncé", "Zoë", "Hoppípolla")
    assert zoe["location"] == "Montréal, Québec, Canada"


# ---------------------------------------------------------------- 2. songs with 'auto'


def test_songs_auto_loads_every_layout_under_the_prefix(s3, db_schema, prefix):
    songs = [song(n) for n in range(6)]
    songs[5]["artist_latitude"] = songs[5]["artist_longitude"] = None
    files = {
        "song_data/A/B/C/TRABC0.json": json.dumps(songs[0]),  # one line
        "song_data/A/B/D/TRABD1.json": json.dumps(songs[1], indent=4, ensure_ascii=False),  # pretty-printed
        "song_data/A/C/E/TRACE2.json": json.dumps(songs[2]) + json.dumps(songs[3]),  # concatenated
        "song_data/B/A/A/TRBAA4.json": json.dumps(songs[4], indent=2) + "\n" + json.dumps(songs[5], indent=2),
    }
    put_objects(s3, BUCKET, {prefix + key: body for key, body in files.items()})

    def load(sub_prefix: str) -> tuple[int, list[tuple]]:
        rows = stage("staging_songs", prefix + sub_prefix, json_format="auto")
        return rows, table_rows(db_schema, "staging_songs", SONG_COLUMNS)

    def expected(*indexes) -> list[tuple]:
        return sorted_rows(expected_song_row(songs[i]) for i in indexes)

    count, rows = load("song_data/")
    assert count == 6 and sorted_rows(rows) == expected(0, 1, 2, 3, 4, 5)
    count, rows = load("song_data/A/")
    assert count == 4 and sorted_rows(rows) == expected(0, 1, 2, 3)
    count, rows = load("song_data/A/B/")
    assert count == 2 and sorted_rows(rows) == expected(0, 1)
    count, rows = load("song_data/B/A/A/TRBAA4.json")
    assert count == 2 and sorted_rows(rows) == expected(4, 5)


# ---------------------------------------------------------------- 3. 'auto ignorecase'


def test_auto_ignorecase_matches_mixed_case_keys(s3, db_schema, prefix):
    record = {
        "Artist_Name": "Guns N' Roses",
        "Song_ID": "SOMIXEDCASE00001",
        "Title": "Don't Cry",
        "num_songs": 1,
        "Year": 1991,
        "DURATION": 284.81261,
    }
    key = f"{prefix}song_data/mixed.json"
    put_objects(s3, BUCKET, {key: json.dumps(record)})
    columns = ("artist_name", "song_id", "title", "num_songs", "year", "duration")

    assert stage("staging_songs", key, json_format="auto") == 1
    assert table_rows(db_schema, "staging_songs", columns) == [(None, None, None, 1, None, None)]

    assert stage("staging_songs", key, json_format="auto ignorecase") == 1
    assert table_rows(db_schema, "staging_songs", columns) == [
        ("Guns N' Roses", "SOMIXEDCASE00001", "Don't Cry", 1, 1991, 284.81261)
    ]


# ---------------------------------------------------------------- 4. strftime keys and the window


def test_dated_key_expands_once_per_day_of_the_window(s3, db_schema, prefix, jsonpaths):
    per_day = {}
    for day, count in ((14, 2), (15, 3), (16, 1)):
        records = [event(ms(datetime(2018, 11, day, 5 + i, 0)), sessionId=day * 10 + i) for i in range(count)]
        per_day[day] = records
        put_objects(s3, BUCKET, {f"{prefix}events/2018/11/2018-11-{day}-events.json": ndjson(records)})
    pattern = prefix + "events/%Y/%m/%Y-%m-%d-events.json"

    def loaded_days() -> list[int]:
        return sorted({r[EVENT_COLUMNS.index("ts")].day for r in event_rows(db_schema)})

    two_days = ("2018-11-14T18:00:00Z", "2018-11-15T06:00:00Z")
    assert stage_events(pattern, jsonpaths, window=two_days) == len(per_day[14]) + len(per_day[15])
    assert event_rows(db_schema) == sorted(
        map(expected_event_row, per_day[14] + per_day[15]), key=lambda r: r[EVENT_COLUMNS.index("ts")]
    )

    assert stage_events(pattern, jsonpaths, window=("2018-11-16T03:00:00Z", "2018-11-16T04:00:00Z")) == 1
    assert loaded_days() == [16]

    whole_day = ("2018-11-15T00:00:00Z", "2018-11-16T00:00:00Z")  # half-open: the 16th is not touched
    assert stage_events(pattern, jsonpaths, window=whole_day) == len(per_day[15])
    assert loaded_days() == [15]


# ---------------------------------------------------------------- 5. REPLACE and APPEND


def test_replace_empties_the_table_and_append_keeps_it(s3, db_schema, prefix, jsonpaths):
    first = [event(ms(datetime(2018, 11, 15, 0, m)), sessionId=m) for m in (1, 2)]
    second = [event(ms(datetime(2018, 11, 15, 0, m)), sessionId=m) for m in (10, 11, 12)]
    put_objects(s3, BUCKET, {f"{prefix}first.json": ndjson(first), f"{prefix}second.json": ndjson(second)})

    def sessions() -> list[int]:
        return [r[0] for r in db_schema.execute("SELECT sessionid FROM staging_events ORDER BY 1").fetchall()]

    assert stage_events(f"{prefix}first.json", jsonpaths) == 2
    assert stage_events(f"{prefix}second.json", jsonpaths, method="APPEND") == 3
    assert sessions() == [1, 2, 10, 11, 12]
    assert stage_events(f"{prefix}first.json", jsonpaths, method="APPEND") == 2
    assert sessions() == [1, 1, 2, 2, 10, 11, 12]
    assert stage_events(f"{prefix}second.json", jsonpaths, method="REPLACE") == 3
    assert sessions() == [10, 11, 12]


# ---------------------------------------------------------------- 6. a failed load changes nothing


def test_bad_value_fails_the_load_naming_file_line_column_and_value(
    s3, db_schema, prefix, jsonpaths, load_errors, capfd
):
    before = prefill_events(db_schema)
    records = [event(ms(datetime(2018, 11, 15, 0, m)), sessionId=m) for m in range(5)]
    records[2]["userId"] = "abc"
    good, bad = f"{prefix}a-good.json", f"{prefix}b-bad.json"  # the good file loads first
    put_objects(s3, BUCKET, {good: ndjson(records[:2]), bad: ndjson(records)})

    with pytest.raises(AirflowFailException) as raised:
        stage_events(prefix, jsonpaths)

    message = str(raised.value)
    assert f"s3://{BUCKET}/{bad}" in message
    assert "line 3" in message
    assert "userid" in message
    assert "'abc'" in message
    the_only_reject(
        load_errors(),
        capfd.readouterr().out,
        filename=f"s3://{BUCKET}/{bad}",
        line=3,
        column="userid",
        raw_value="abc",
        reason="Invalid digit, Value 'a', Type: integer",
    )
    assert event_rows(db_schema) == before


def test_malformed_json_mid_file_fails_naming_the_line(s3, db_schema, prefix, jsonpaths, load_errors, capfd):
    before = prefill_events(db_schema)
    lines = [json.dumps(event(ms(datetime(2018, 11, 15, 0, m)), sessionId=m)) for m in range(4)]
    lines[1] = lines[1].replace('"level": "paid",', '"level": "paid",,')
    key = f"{prefix}broken.json"
    put_objects(s3, BUCKET, {key: "\n".join(lines) + "\n"})

    with pytest.raises(AirflowFailException) as raised:
        stage_events(key, jsonpaths)

    message = str(raised.value)
    assert f"s3://{BUCKET}/{key}" in message and "line 2" in message and "JSON" in message
    reject = the_only_reject(load_errors(), capfd.readouterr().out, filename=f"s3://{BUCKET}/{key}", line=2, column="")
    assert "JSON" in reject.reason
    assert event_rows(db_schema) == before


def test_prefix_matching_nothing_fails_and_changes_nothing(s3, db_schema, prefix, jsonpaths):
    before = prefill_events(db_schema)
    missing = f"{prefix}log_data/2031/"
    with pytest.raises(CopyFailed, match=missing) as raised:
        stage_events(missing, jsonpaths)
    assert not raised.value.data_error
    assert event_rows(db_schema) == before


def test_jsonpaths_with_the_wrong_number_of_paths_fails_and_changes_nothing(s3, db_schema, prefix):
    before = prefill_events(db_schema)
    short = f"{prefix}config/short_paths.json"
    data = f"{prefix}events.json"
    put_objects(
        s3,
        BUCKET,
        {
            short: json.dumps({"jsonpaths": [f"$['{f}']" for f in EVENT_FIELDS[:-1]]}),
            data: ndjson([event(ms(datetime(2018, 11, 15, 0, 1)))]),
        },
    )
    with pytest.raises(CopyFailed) as raised:
        stage_events(data, f"s3://{BUCKET}/{short}")
    assert not raised.value.data_error
    assert str(len(EVENT_FIELDS) - 1) in str(raised.value) and str(len(EVENT_FIELDS)) in str(raised.value)
    assert event_rows(db_schema) == before


def test_missing_jsonpaths_file_fails_and_changes_nothing(s3, db_schema, prefix):
    before = prefill_events(db_schema)
    data = f"{prefix}events.json"
    put_objects(s3, BUCKET, {data: ndjson([event(ms(datetime(2018, 11, 15, 0, 1)))])})
    missing = f"s3://{BUCKET}/{prefix}config/no_such_paths.json"
    with pytest.raises(CopyFailed, match=missing) as raised:
        stage_events(data, missing)
    assert not raised.value.data_error
    assert event_rows(db_schema) == before


# ---------------------------------------------------------------- 7. TRUNCATECOLUMNS


def utf8_prefix(text: str, limit: int) -> str:
    """The longest run of whole characters from the start of `text` within `limit` UTF-8 bytes."""
    kept = ""
    for char in text:
        if len((kept + char).encode("utf-8")) > limit:
            break
        kept += char
    return kept


def test_truncate_columns_cuts_strings_at_the_byte_length_on_a_character_boundary(
    s3, db_schema, prefix, jsonpaths, load_errors, capfd
):
    gender = "x" + "é" * 10  # 11 characters, 21 bytes; byte 16 falls inside an 'é'
    assert len(gender) <= 16 < len(gender.encode())
    key = f"{prefix}long-gender.json"
    put_objects(s3, BUCKET, {key: ndjson([event(ms(datetime(2018, 11, 15, 0, 5)), gender=gender)])})
    before = prefill_events(db_schema)

    with pytest.raises(AirflowFailException) as raised:
        stage_events(key, jsonpaths)
    assert "String length exceeds DDL length" in str(raised.value)
    reject = the_only_reject(
        load_errors(),
        capfd.readouterr().out,
        filename=f"s3://{BUCKET}/{key}",
        line=1,
        column="gender",
        raw_value=gender,
    )
    assert "String length exceeds DDL length" in reject.reason
    assert event_rows(db_schema) == before

    assert stage_events(key, jsonpaths, truncate_columns=True) == 1
    stored = db_schema.execute("SELECT gender FROM staging_events").fetchone()[0]
    assert stored == utf8_prefix(gender, 16) == "x" + "é" * 7
    assert len(stored.encode()) == 15


# ---------------------------------------------------------------- 8. gzip


def test_gzip_objects_load(s3, db_schema, prefix, jsonpaths):
    records = [event(ms(datetime(2018, 11, 15, 0, m)), sessionId=m, userId=str(m + 1)) for m in range(4)]
    key = f"{prefix}events.json.gz"
    put_objects(s3, BUCKET, {key: gzip.compress(ndjson(records).encode())})

    assert stage_events(key, jsonpaths, compression="gzip") == len(records)
    assert event_rows(db_schema) == [expected_event_row(r) for r in records]


@pytest.mark.parametrize("corruption", ["truncated", "not-gzip"])
def test_corrupt_gzip_object_fails_naming_the_key(s3, db_schema, prefix, jsonpaths, corruption, load_errors, capfd):
    records = [event(ms(datetime(2018, 11, 15) + timedelta(seconds=n)), sessionId=n) for n in range(200)]
    packed = gzip.compress(ndjson(records).encode())
    body = packed[: len(packed) // 2] if corruption == "truncated" else ndjson(records).encode()
    key = f"{prefix}events.json.gz"
    put_objects(s3, BUCKET, {key: body})
    before = prefill_events(db_schema)

    with pytest.raises(AirflowFailException) as raised:  # a corrupt file: no retry can fix it
        stage_events(key, jsonpaths, compression="gzip")
    assert f"s3://{BUCKET}/{key}" in str(raised.value)
    reject = the_only_reject(load_errors(), capfd.readouterr().out, filename=f"s3://{BUCKET}/{key}")
    assert "Could not decompress" in reject.reason
    assert event_rows(db_schema) == before


# ---------------------------------------------------------------- 9. layouts of event files


def test_pretty_printed_and_same_line_events_load(s3, db_schema, prefix, jsonpaths):
    records = [event(ms(datetime(2018, 11, 15, 0, m)), sessionId=m, userId=str(100 + m)) for m in range(6)]
    records[4] = guest_event(ms(datetime(2018, 11, 15, 0, 4)))
    body = (
        json.dumps(records[0], indent=4, ensure_ascii=False)
        + "\n"
        + json.dumps(records[1])
        + " "
        + json.dumps(records[2])
        + json.dumps(records[3])
        + "\n"
        + json.dumps(records[4], indent=2)
        + "  "
        + json.dumps(records[5])
        + "\n"
    )
    key = f"{prefix}mixed-layout.json"
    put_objects(s3, BUCKET, {key: body})

    assert stage_events(key, jsonpaths) == len(records)
    assert event_rows(db_schema) == sorted(map(expected_event_row, records), key=lambda r: r[EVENT_COLUMNS.index("ts")])


def test_bad_value_in_a_pretty_printed_object_names_file_column_and_value(
    s3, db_schema, prefix, jsonpaths, load_errors, capfd
):
    records = [event(ms(datetime(2018, 11, 15, 0, m)), sessionId=m) for m in range(3)]
    records[1]["sessionId"] = "4x2"
    key = f"{prefix}pretty-bad.json"
    put_objects(s3, BUCKET, {key: "".join(json.dumps(r, indent=2) + "\n" for r in records)})
    before = prefill_events(db_schema)

    with pytest.raises(AirflowFailException) as raised:
        stage_events(key, jsonpaths)
    assert f"s3://{BUCKET}/{key}" in str(raised.value)
    the_only_reject(
        load_errors(), capfd.readouterr().out, filename=f"s3://{BUCKET}/{key}", column="sessionid", raw_value="4x2"
    )
    assert event_rows(db_schema) == before


def test_large_pretty_printed_files_load_whatever_the_chunk_boundaries(db_schema, s3):
    """Regression: a read boundary inside `null` or an escape must not look like bad JSON."""
    rows = [
        {
            "num_songs": 1,
            "artist_id": None,
            "song_id": f"SO{i:016d}",
            "title": "Caf\u00e9 \\u00e9",
            "duration": 200.5 + i,
            "year": 0,
        }
        for i in range(8000)
    ]
    document = "".join(json.dumps(r, indent=2) + "\n" for r in rows)
    for shift in range(3):
        clear_prefix(s3, BUCKET, "big/")
        put_objects(s3, BUCKET, {"big/songs.json": " " * shift + document})
        loaded = stage("staging_songs", "big/", json_format="auto")
        assert loaded == len(rows)
    assert db_schema.execute("SELECT COUNT(DISTINCT song_id) FROM staging_songs").fetchone()[0] == len(rows)


def test_errors_in_multi_line_objects_name_the_last_line_of_the_object(db_schema, s3, load_errors, capfd):
    clear_prefix(s3, BUCKET, "multiline/")
    good = json.dumps({"num_songs": 1, "song_id": "SOA", "year": 1999}, indent=2)
    bad = json.dumps({"num_songs": 1, "song_id": "SOB", "year": "nineteen"}, indent=2)
    put_objects(s3, BUCKET, {"multiline/s.json": good + "\n" + bad + "\n"})
    with pytest.raises(AirflowFailException) as error:
        stage("staging_songs", "multiline/", json_format="auto")
    last_line = (good + "\n" + bad).count("\n") + 1
    assert f"line {last_line}," in str(error.value)
    assert "column year" in str(error.value) and "'nineteen'" in str(error.value)
    the_only_reject(
        load_errors(),
        capfd.readouterr().out,
        filename=f"s3://{BUCKET}/multiline/s.json",
        line=last_line,
        column="year",
        raw_value="nineteen",
    )
