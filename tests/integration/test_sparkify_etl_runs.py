"""Whole-DAG runs with dag.test() on the local stack, compared row for row with an independent model."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.expected import expected_star
from tests.support import assert_star_matches, busy_hours, reset_schema, run_dag, warehouse_star

pytestmark = pytest.mark.integration
DAY = datetime(2018, 11, 15)


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


def test_window_spanning_two_days_stages_both_day_files(sparkify_dag, sample_data, db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_KEEP_RUN_TABLES", "all")  # keep the run's staging tables to read
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
