"""Each kind of data quality check catches a real defect in loaded data, and passes on clean data."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sparkify.operators import DataQualityOperator
from sparkify.operators.data_quality import DataQualityError
from sparkify.quality_config import load_quality_checks
from sparkify.staging import run_scoped
from tests.support import PROJECT_ROOT, SQL_DIR, reset_schema, run_dag, task_context

pytestmark = pytest.mark.integration
STAR = ("staging_events", "songplays", "users", "songs", "artists", "time")
RUN_ID = None  # the loading run's id, set by the db_loaded fixture
DAY = {"window_start": "2018-11-15T00:00:00Z", "window_end": "2018-11-16T00:00:00Z"}


@pytest.fixture(scope="module")
def loaded(sparkify_dag, sample_data, warehouse_dsn):
    """One real day loaded by the DAG, saved so that each test can corrupt and restore it."""
    import psycopg

    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        reset_schema(conn)
        assert run_dag(sparkify_dag, datetime.fromisoformat("2018-11-15T00:00:00+00:00"), DAY) == "success"
        for table in STAR:
            conn.execute(f'DROP TABLE IF EXISTS "saved_{table}"')
            conn.execute(f'CREATE TABLE "saved_{table}" AS SELECT * FROM "{table}"')
        busiest = conn.execute(
            "SELECT date_trunc('hour', start_time) AS h FROM songplays GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]
        [(run_id,)] = conn.execute("SELECT DISTINCT run_id FROM staging_tables").fetchall()
    return busiest, run_id


@pytest.fixture
def db_loaded(loaded, db):
    """The loaded day, restored before each test; yields (connection, the busiest hour).

    The checks run with the DAG run's run_id, so they read that run's staging copy.
    """
    for table in STAR:
        db.execute(f'TRUNCATE "{table}"')
        db.execute(f'INSERT INTO "{table}" SELECT * FROM "saved_{table}"')
    db.execute("TRUNCATE dq_results")
    global RUN_ID
    RUN_ID = loaded[1]
    yield db, loaded[0]
    db.execute("ALTER TABLE users DROP CONSTRAINT IF EXISTS users_pkey")
    db.execute("DELETE FROM users")
    db.execute("ALTER TABLE users ADD PRIMARY KEY (user_id)")
    db.execute("DELETE FROM songplays WHERE start_time IS NULL")
    db.execute("ALTER TABLE songplays ALTER COLUMN start_time SET NOT NULL")


def run_checks(hour: datetime) -> list[dict]:
    checks = load_quality_checks(PROJECT_ROOT / "include" / "quality_checks.yaml", SQL_DIR, SQL_DIR / "create_tables.sql")
    context = task_context(hour, hour + timedelta(hours=1), run_id=RUN_ID)
    return DataQualityOperator(task_id="run_quality_checks", checks=checks).execute(context)


def failures(db, hour) -> tuple[str, list[tuple]]:
    with pytest.raises(DataQualityError) as error:
        run_checks(hour)
    recorded = db.execute(
        "SELECT check_name, observed, expected, severity FROM dq_results WHERE NOT passed ORDER BY check_name"
    ).fetchall()
    return str(error.value), recorded


def test_every_check_passes_on_clean_data_and_is_recorded(db_loaded):
    db, hour = db_loaded
    results = run_checks(hour)
    assert [r["name"] for r in results if not r["passed"]] == []
    rows = db.execute("SELECT COUNT(*), bool_and(passed), MIN(run_id), MIN(window_start) FROM dq_results").fetchone()
    assert rows == (len(results), True, RUN_ID, hour)


CORRUPTIONS = {
    "duplicate user": (
        ["ALTER TABLE users DROP CONSTRAINT users_pkey",
         "INSERT INTO users SELECT * FROM users WHERE user_id = (SELECT MIN(user_id) FROM users)"],
        "users_user_id_unique", "1", "equal 0",
    ),
    "NULL start_time": (
        ["ALTER TABLE songplays ALTER COLUMN start_time DROP NOT NULL",
         "INSERT INTO songplays (songplay_id, start_time, user_id, level) "
         "SELECT 'null-start', NULL, user_id, level FROM users LIMIT 1"],
        "songplays_start_time_not_null", "1", "equal 0",
    ),
    "songplay for an unknown user": (
        ["INSERT INTO songplays (songplay_id, start_time, user_id, level) VALUES ('ghost', %(hour)s, 999999, 'free')"],
        "songplays_user_in_users", "1", "equal 0",
    ),
    "unknown song": (
        ["UPDATE songplays SET song_id = 'SONOTINCATALOGUE' WHERE songplay_id = "
         "(SELECT MIN(songplay_id) FROM songplays WHERE start_time >= %(hour)s "
         "AND start_time < %(hour)s + INTERVAL '1 hour')"],
        "songplays_song_in_songs", "1", "equal 0",
    ),
    "dropped hour": (
        ["DELETE FROM songplays WHERE start_time >= %(hour)s AND start_time < %(hour)s + INTERVAL '1 hour'"],
        "songplays_fresh", "1", "equal 0",
    ),
    "level outside free/paid": (
        ["UPDATE users SET level = 'gold' WHERE user_id = (SELECT MIN(user_id) FROM users)"],
        "users_level_accepted", "1", "equal 0",
    ),
    "NULL level": (
        ["UPDATE users SET level = NULL WHERE user_id = (SELECT MIN(user_id) FROM users)"],
        "users_level_not_null", "1", "equal 0",
    ),
    "hour 25 in time": (
        ["UPDATE time SET hour = 25 WHERE start_time = (SELECT MIN(start_time) FROM time WHERE start_time >= %(hour)s)"],
        "time_hour_max", "25", "at most 23",
    ),
    "negative session": (
        ["UPDATE songplays SET session_id = -5 WHERE songplay_id = "
         "(SELECT MIN(songplay_id) FROM songplays WHERE start_time >= %(hour)s AND start_time < %(hour)s + INTERVAL '1 hour')"],
        "songplays_session_id_min", "-5", "at least 0",
    ),
    "missing time row": (
        ["DELETE FROM time WHERE start_time = (SELECT MIN(start_time) FROM time WHERE start_time >= %(hour)s)"],
        "songplays_start_time_in_time", "1", "equal 0",
    ),
    "duplicated songplay": (
        ["ALTER TABLE songplays DROP CONSTRAINT songplays_pkey",
         "INSERT INTO songplays SELECT * FROM songplays WHERE songplay_id = "
         "(SELECT MIN(songplay_id) FROM songplays WHERE start_time >= %(hour)s AND start_time < %(hour)s + INTERVAL '1 hour')"],
        "songplays_songplay_id_unique", "1", "equal 0",
    ),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_each_defect_fails_its_check_with_the_values_and_a_recorded_result(db_loaded, corruption):
    db, hour = db_loaded
    statements, check, observed, expected = CORRUPTIONS[corruption]
    try:
        for statement in statements:
            db.execute(statement, {"hour": hour} if "%(hour)s" in statement else None)
        message, recorded = failures(db, hour)
    finally:
        if corruption == "duplicated songplay":
            db.execute("DELETE FROM songplays")
            db.execute("ALTER TABLE songplays ADD PRIMARY KEY (songplay_id)")
    assert f"- {check} (" in message
    row = next(r for r in recorded if r[0] == check)
    if observed is not None:
        assert f"observed {int(observed)!r}, expected {expected}" in message
        assert row[1:3] == (observed, expected)
    assert row[3] == "error"


def test_reconciliation_reports_the_observed_and_expected_counts(db_loaded):
    db, hour = db_loaded
    expected = db.execute(
        "SELECT COUNT(*) FROM songplays WHERE start_time >= %(h)s AND start_time < %(h)s + INTERVAL '1 hour'", {"h": hour}
    ).fetchone()[0]
    db.execute("DELETE FROM songplays WHERE songplay_id = (SELECT MIN(songplay_id) FROM songplays WHERE start_time >= %(h)s "
               "AND start_time < %(h)s + INTERVAL '1 hour')", {"h": hour})
    message, recorded = failures(db, hour)
    assert f"songplays_reconcile_staging (songplays): observed {expected - 1}, expected equal {expected}" in message
    assert ("songplays_reconcile_staging", str(expected - 1), f"equal {expected}", "error") in recorded


def test_a_warn_check_is_recorded_but_does_not_fail_the_task(db_loaded):
    db, hour = db_loaded
    db.execute("DELETE FROM songplays")
    db.execute("DELETE FROM time")
    db.execute("DELETE FROM users")
    db.execute(f'DELETE FROM "{run_scoped("staging_events", RUN_ID)}"')
    results = run_checks(hour)
    assert [r["name"] for r in results if not r["passed"]] == ["users_not_empty"]
    assert db.execute("SELECT severity, passed FROM dq_results WHERE check_name = 'users_not_empty'").fetchone() == (
        "warn", False)
