"""Whole-DAG runs with dag.test() on the local stack, compared row for row with an independent model."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.expected import event_time, expected_star, read_events
from tests.support import reset_schema, run_dag

pytestmark = pytest.mark.integration
DAY = datetime(2018, 11, 15)

STAR_QUERIES = {
    "songplays": "SELECT songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, "
    "user_agent FROM songplays",
    "users": "SELECT user_id, first_name, last_name, gender, level FROM users",
    "songs": "SELECT song_id, title, artist_id, year, duration FROM songs",
    "artists": "SELECT artist_id, name, location, latitude, longitude FROM artists",
    "time": "SELECT start_time, hour, day, week, month, year, weekday FROM time",
}


def warehouse_star(db) -> dict[str, set[tuple]]:
    return {table: set(db.execute(sql).fetchall()) for table, sql in STAR_QUERIES.items()}


def assert_star_matches(db, expected) -> None:
    actual = warehouse_star(db)
    for table in STAR_QUERIES:
        want = getattr(expected, table)
        assert actual[table] == want, f"{table}: {len(actual[table])} rows, expected {len(want)}"


def busy_hours(root, count: int) -> list[datetime]:
    """Hours of DAY with the most NextSong plays, so the runs have work to do."""
    plays = [event_time(e).replace(minute=0, second=0, microsecond=0)
             for e in read_events(root) if e["page"] == "NextSong" and event_time(e).date() == DAY.date()]
    return sorted(set(plays), key=lambda h: (-plays.count(h), h))[:count]


def test_hourly_runs_in_any_order_build_the_exact_star_schema(sparkify_dag, sample_data, db):
    reset_schema(db)
    hours = busy_hours(sample_data, 3)
    shuffled = [hours[2], hours[0], hours[1]] if hours[0] < hours[2] else hours
    for hour in shuffled:
        assert run_dag(sparkify_dag, _utc(hour)) == "success"
    expected = expected_star(sample_data, [(h, h + timedelta(hours=1)) for h in hours])
    assert expected.songplays, "the chosen hours should contain plays"
    assert any(row[4] for row in expected.songplays), "some plays should match a catalogue song"
    assert any(row[4] is None for row in expected.songplays), "some plays should not match"
    assert_star_matches(db, expected)


def test_windowed_run_covers_a_day_and_reruns_are_idempotent(sparkify_dag, sample_data, db):
    reset_schema(db)
    conf = {"window_start": "2018-11-15T00:00:00Z", "window_end": "2018-11-16T00:00:00Z"}
    assert run_dag(sparkify_dag, _utc(DAY), conf) == "success"
    expected = expected_star(sample_data, [(DAY, DAY + timedelta(days=1))])
    assert expected.skipped_guest_plays >= 0
    assert_star_matches(db, expected)
    first = warehouse_star(db)
    assert run_dag(sparkify_dag, _utc(DAY), conf) == "success"
    assert warehouse_star(db) == first


def test_window_spanning_two_days_stages_both_day_files(sparkify_dag, sample_data, db):
    reset_schema(db)
    start, end = DAY - timedelta(hours=6), DAY + timedelta(hours=6)
    conf = {"window_start": start.isoformat() + "Z", "window_end": end.isoformat() + "Z"}
    assert run_dag(sparkify_dag, _utc(start), conf) == "success"
    [(copy,)] = db.execute("SELECT table_name FROM staging_tables WHERE table_name LIKE 'staging_events%%'").fetchall()
    days = {d for (d,) in db.execute(f'SELECT DISTINCT CAST(ts AS DATE) FROM "{copy}"').fetchall()}
    assert {d.isoformat() for d in days} == {"2018-11-14", "2018-11-15"}
    assert_star_matches(db, expected_star(sample_data, [(start, end)]))


def test_bad_window_is_refused_before_anything_is_loaded(sparkify_dag, sample_data, db):
    reset_schema(db)
    conf = {"window_start": "2018-11-16T00:00:00Z", "window_end": "2018-11-15T00:00:00Z"}
    assert run_dag(sparkify_dag, _utc(DAY), conf) == "failed"
    assert db.execute("SELECT COUNT(*) FROM staging_tables").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM songplays").fetchone()[0] == 0


def _utc(moment: datetime) -> datetime:
    from datetime import timezone

    return moment.replace(tzinfo=timezone.utc)
