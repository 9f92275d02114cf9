"""Each kind of data quality check catches a real defect in loaded data, and passes on clean data."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from sparkify.operators import DataQualityOperator
from sparkify.operators.data_quality import DataQualityError
from sparkify.quality_config import load_quality_checks
from sparkify.sql_check import SqlCheck
from sparkify.staging import run_scoped
from tests.support import PROJECT_ROOT, SQL_DIR, StatementLog, reset_schema, run_dag, task_context

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("keep_run_tables")]  # reads run tables after the run


PUBLISHED = ("songplays", "users", "songs", "artists", "time")
RUN_ID = None  # the loading run's id, set by the db_loaded fixture
CHECKS = None  # the DAG's compiled checks (include/quality_checks.yaml mapped to the shadows), set there too
DAY = {"window_start": "2018-11-15T00:00:00Z", "window_end": "2018-11-16T00:00:00Z"}
CHECKS_FILE = PROJECT_ROOT / "include" / "quality_checks.yaml"


def shadow(table: str, run_id: str | None = None) -> str:
    """The quoted name of the loading run's copy of `table` (a staging table, or a star table's shadow)."""
    return f'"{run_scoped(table, run_id or RUN_ID)}"'


def on_shadows(statement: str) -> str:
    """`statement` with every star-schema table name replaced by the run's shadow of it: the audit's input."""
    return re.sub(r"\b(songplays|users|songs|artists|time)\b", lambda m: shadow(m.group(1)), statement)


@pytest.fixture(scope="module")
def loaded(sparkify_dag, sample_data, warehouse_dsn):
    """One real day loaded by the DAG; its shadow tables saved so that each test can corrupt and restore them."""
    import psycopg

    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        reset_schema(conn)
        assert run_dag(sparkify_dag, datetime.fromisoformat("2018-11-15T00:00:00+00:00"), DAY) == "success"
        busiest = conn.execute(
            "SELECT date_trunc('hour', start_time) AS h FROM songplays GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]
        [(run_id,)] = conn.execute("SELECT DISTINCT run_id FROM staging_tables").fetchall()
        for table in (*PUBLISHED, "staging_events"):
            conn.execute(f'DROP TABLE IF EXISTS "saved_{table}"')
            conn.execute(f'CREATE TABLE "saved_{table}" AS SELECT * FROM {shadow(table, run_id)}')
    return busiest, run_id


@pytest.fixture
def db_loaded(loaded, db, sparkify_dag):
    """The loaded day's shadows restored and the published tables empty before each test, so the audit
    sees the day as its first publish; yields (connection, the busiest hour).

    The checks run with the DAG run's run_id, so they read that run's staging copy and shadows.
    """
    global RUN_ID, CHECKS
    RUN_ID = loaded[1]
    CHECKS = sparkify_dag.get_task("run_quality_checks").checks
    for table in (*PUBLISHED, "staging_events"):
        db.execute(f"TRUNCATE {shadow(table)}")
        db.execute(f'INSERT INTO {shadow(table)} SELECT * FROM "saved_{table}"')
    for table in PUBLISHED:
        db.execute(f'TRUNCATE "{table}"')
    db.execute("TRUNCATE dq_results")
    yield db, loaded[0]
    db.execute(f"DELETE FROM {shadow('songplays')} WHERE start_time IS NULL")
    db.execute(f"ALTER TABLE {shadow('songplays')} ALTER COLUMN start_time SET NOT NULL")


def run_checks(hour: datetime) -> list[dict]:
    context = task_context(hour, hour + timedelta(hours=1), run_id=RUN_ID)
    return DataQualityOperator(task_id="run_quality_checks", checks=CHECKS).execute(context)


def run_audit(hour: datetime) -> list[dict]:
    """sparkify_audit's whole-table checks (the audit_checks of include/quality_checks.yaml), for the day before."""
    checks = load_quality_checks(CHECKS_FILE, SQL_DIR, SQL_DIR / "create_tables.sql", section="audit_checks")
    context = task_context(hour - timedelta(days=1), hour, run_id="audit_run")
    return DataQualityOperator(task_id="audit_star_schema", checks=checks).execute(context)


def failures(db, hour, run=run_checks) -> tuple[str, list[tuple]]:
    with pytest.raises(DataQualityError) as error:
        run(hour)
    recorded = db.execute(
        "SELECT check_name, observed, expected, severity FROM dq_results WHERE NOT passed ORDER BY check_name"
    ).fetchall()
    return str(error.value), recorded


def publish_shadows(db) -> None:
    """The loaded day as publishing would leave it (the published tables were emptied by db_loaded)."""
    for table in PUBLISHED:
        db.execute(f'INSERT INTO "{table}" SELECT * FROM {shadow(table)}')


def test_every_check_passes_on_clean_data_and_is_recorded(db_loaded):
    db, hour = db_loaded
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    results = run_checks(hour)
    assert [r["name"] for r in results if not r["passed"]] == []
    rows = db.execute(
        "SELECT COUNT(*), bool_and(passed), MIN(run_id), MIN(window_start), MAX(window_end), MIN(checked_at) "
        "FROM dq_results"
    ).fetchone()
    assert rows[:5] == (len(results), True, RUN_ID, hour, hour + timedelta(hours=1))
    assert before <= rows[5] <= datetime.now(timezone.utc).replace(tzinfo=None), "checked_at is the check's UTC time"


def test_every_check_passes_when_the_window_is_published_already(db_loaded):
    """A rerun audits the same shadows over published tables that already hold them: publishing
    replaces the window's songplays and the merged keys, so nothing counts twice."""
    db, hour = db_loaded
    publish_shadows(db)
    assert [r["name"] for r in run_checks(hour) if not r["passed"]] == []


def test_the_whole_table_audit_passes_on_the_published_day_and_records_its_results(db_loaded):
    db, hour = db_loaded
    publish_shadows(db)
    results = run_audit(hour)
    assert results and [r["name"] for r in results if not r["passed"]] == []
    recorded = db.execute("SELECT COUNT(*), bool_and(passed), MIN(run_id) FROM dq_results").fetchone()
    assert recorded == (len(results), True, "audit_run")


# Each corruption is written against the star-schema names and applied to the run's shadows (on_shadows).
CORRUPTIONS = {
    "duplicate user": (
        ["INSERT INTO users SELECT * FROM users WHERE user_id = (SELECT MIN(user_id) FROM users)"],
        "users_user_id_unique",
        "1",
        "equal 0",
    ),
    "NULL start_time": (
        [
            "ALTER TABLE songplays ALTER COLUMN start_time DROP NOT NULL",
            "INSERT INTO songplays (songplay_id, start_time, user_id, level) "
            "SELECT 'null-start', NULL, user_id, level FROM users LIMIT 1",
        ],
        "songplays_start_time_not_null",
        "1",
        "equal 0",
    ),
    "songplay for an unknown user": (
        ["INSERT INTO songplays (songplay_id, start_time, user_id, level) VALUES ('ghost', %(hour)s, 999999, 'free')"],
        "songplays_user_in_users",
        "1",
        "equal 0",
    ),
    "unknown song": (
        [
            "UPDATE songplays SET song_id = 'SONOTINCATALOGUE' WHERE songplay_id = "
            "(SELECT MIN(songplay_id) FROM songplays WHERE start_time >= %(hour)s "
            "AND start_time < %(hour)s + INTERVAL '1 hour')"
        ],
        "songplays_song_in_songs",
        "1",
        "equal 0",
    ),
    "song whose artist is missing": (
        ["DELETE FROM artists WHERE artist_id = (SELECT MIN(artist_id) FROM songs)"],
        "songs_artist_in_artists",
        None,
        "equal 0",
    ),
    "dropped hour": (
        ["DELETE FROM songplays WHERE start_time >= %(hour)s AND start_time < %(hour)s + INTERVAL '1 hour'"],
        "songplays_fresh",
        "1",
        "equal 0",
    ),
    "level outside free/paid": (
        ["UPDATE users SET level = 'gold' WHERE user_id = (SELECT MIN(user_id) FROM users)"],
        "users_level_accepted",
        "1",
        "equal 0",
    ),
    "NULL level": (
        ["UPDATE users SET level = NULL WHERE user_id = (SELECT MIN(user_id) FROM users)"],
        "users_level_not_null",
        "1",
        "equal 0",
    ),
    "hour 25 in time": (
        [
            "UPDATE time SET hour = 25 WHERE start_time = "
            "(SELECT MIN(start_time) FROM time WHERE start_time >= %(hour)s)"
        ],
        "time_hour_max",
        "25",
        "at most 23",
    ),
    "negative session": (
        [
            "UPDATE songplays SET session_id = -5 WHERE songplay_id = "
            "(SELECT MIN(songplay_id) FROM songplays WHERE start_time >= %(hour)s "
            "AND start_time < %(hour)s + INTERVAL '1 hour')"
        ],
        "songplays_session_id_min",
        "-5",
        "at least 0",
    ),
    "missing time row": (
        ["DELETE FROM time WHERE start_time = (SELECT MIN(start_time) FROM time WHERE start_time >= %(hour)s)"],
        "songplays_start_time_in_time",
        "1",
        "equal 0",
    ),
    "duplicated songplay": (
        [
            "INSERT INTO songplays SELECT * FROM songplays WHERE songplay_id = "
            "(SELECT MIN(songplay_id) FROM songplays WHERE start_time >= %(hour)s "
            "AND start_time < %(hour)s + INTERVAL '1 hour')"
        ],
        "songplays_songplay_id_unique",
        "1",
        "equal 0",
    ),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_each_defect_fails_its_check_with_the_values_and_a_recorded_result(db_loaded, corruption):
    db, hour = db_loaded
    statements, check, observed, expected = CORRUPTIONS[corruption]
    for statement in statements:
        db.execute(on_shadows(statement), {"hour": hour} if "%(hour)s" in statement else None)
    message, recorded = failures(db, hour)
    assert f"- {check} (" in message
    row = next(r for r in recorded if r[0] == check)
    if observed is not None:
        assert f"observed {int(observed)!r}, expected {expected}" in message
        assert row[1:3] == (observed, expected)
    assert row[3] == "error"


def test_reconciliation_reports_the_observed_and_expected_counts(db_loaded):
    db, hour = db_loaded
    expected = db.execute(
        on_shadows(
            "SELECT COUNT(*) FROM songplays WHERE start_time >= %(h)s AND start_time < %(h)s + INTERVAL '1 hour'"
        ),
        {"h": hour},
    ).fetchone()[0]
    db.execute(
        on_shadows(
            "DELETE FROM songplays WHERE songplay_id = (SELECT MIN(songplay_id) FROM songplays WHERE "
            "start_time >= %(h)s AND start_time < %(h)s + INTERVAL '1 hour')"
        ),
        {"h": hour},
    )
    message, recorded = failures(db, hour)
    assert f"songplays_reconcile_staging (songplays): observed {expected - 1}, expected equal {expected}" in message
    assert ("songplays_reconcile_staging", str(expected - 1), f"equal {expected}", "error") in recorded


def test_a_warn_check_is_recorded_but_does_not_fail_the_task(db_loaded):
    db, hour = db_loaded
    for table in ("songplays", "time", "users", "staging_events"):
        db.execute(f"DELETE FROM {shadow(table)}")
    results = run_checks(hour)
    assert [r["name"] for r in results if not r["passed"]] == ["users_not_empty"]
    assert db.execute("SELECT severity, passed FROM dq_results WHERE check_name = 'users_not_empty'").fetchone() == (
        "warn",
        False,
    )


def test_a_songplay_id_published_by_another_window_is_found_by_the_daily_audit(db_loaded):
    """No sort or dist key leads from a songplay_id to the window that published it, so the hourly check
    reads the window's ids only; the whole-table audit finds an id in two windows once both are published."""
    db, hour = db_loaded
    db.execute(
        "INSERT INTO songplays SELECT songplay_id, start_time - INTERVAL '1 day', user_id, level, song_id, "
        f"artist_id, session_id, location, user_agent FROM {shadow('songplays')} WHERE songplay_id = "
        f"(SELECT MIN(songplay_id) FROM {shadow('songplays')} WHERE start_time >= %(h)s "
        f"AND start_time < %(h)s + INTERVAL '1 hour')",
        {"h": hour},
    )
    assert [r["name"] for r in run_checks(hour) if not r["passed"]] == []
    publish_shadows(db)
    message, recorded = failures(db, hour, run_audit)
    assert "- audit_songplays_songplay_id_unique (songplays): observed 1, expected equal 0" in message
    assert ("audit_songplays_songplay_id_unique", "1", "equal 0", "error") in recorded


def test_broken_rows_in_old_history_are_not_read_hourly_and_are_found_by_the_daily_audit(db_loaded):
    """Rows a week before the window, each breaking a check: the hourly checks, which read the window and
    the keys it references, pass; the whole-table audit names each of them."""
    db, hour = db_loaded
    publish_shadows(db)
    old = hour - timedelta(days=7)
    db.execute(  # a songplay whose user, song and artist are in no dimension, and a duplicate id
        "INSERT INTO songplays (songplay_id, start_time, user_id, level, song_id, artist_id) VALUES "
        "('old-orphan', %(old)s, 999999, 'free', 'SONOTINCATALOGUE', 'ARNOTINCATALOGUE'), "
        "('old-orphan', %(old)s + INTERVAL '1 minute', 999999, 'free', NULL, NULL)",
        {"old": old},
    )
    db.execute(  # a time row for the first of the two only: the second's start_time is missing
        "INSERT INTO time SELECT t, EXTRACT(HOUR FROM t), EXTRACT(DAY FROM t), EXTRACT(WEEK FROM t), "
        "EXTRACT(MONTH FROM t), EXTRACT(YEAR FROM t), EXTRACT(DOW FROM t) FROM (SELECT CAST(%(old)s AS TIMESTAMP) t) o",
        {"old": old},
    )
    db.execute("INSERT INTO users VALUES (999998, 'Old', 'Row', 'X', 'gold')")  # not in the shadow: never merged
    db.execute("INSERT INTO songs VALUES ('SOOLD', 'Old song', 'ARNOTINCATALOGUE', 1999, 1.0)")
    assert [r["name"] for r in run_checks(hour) if not r["passed"]] == []
    message, recorded = failures(db, hour, run_audit)
    assert {name: observed for name, observed, _, _ in recorded} == {
        "audit_songplays_songplay_id_unique": "1",
        "audit_songplays_user_in_users": "2",
        "audit_songplays_song_in_songs": "1",
        "audit_songplays_artist_in_artists": "1",
        "audit_songplays_start_time_in_time": "1",
        "audit_songs_artist_in_artists": "1",
        "audit_users_level_accepted": "1",
        "audit_users_gender_accepted": "1",
    }
    assert "8 of 10 data quality checks failed" in message


def test_dimension_checks_audit_the_merge_that_publishing_would_produce(db_loaded):
    """Published rows the shadow replaces are not audited; a key published earlier satisfies a referential
    check; a published row the shadow does not replace is the daily audit's (the run does not change it)."""
    db, hour = db_loaded
    [(user_id,)] = db.execute(f"SELECT MIN(user_id) FROM {shadow('users')}").fetchall()
    db.execute("INSERT INTO users VALUES (%s, 'Old', 'Row', 'F', 'gold')", (user_id,))  # replaced by the shadow's row
    assert [r["name"] for r in run_checks(hour) if not r["passed"]] == []
    db.execute("DELETE FROM users WHERE level = 'gold'")
    db.execute(f"INSERT INTO users SELECT * FROM {shadow('users')} WHERE user_id = %s", (user_id,))
    db.execute(f"DELETE FROM {shadow('users')} WHERE user_id = %s", (user_id,))  # now only published
    assert [r["name"] for r in run_checks(hour) if not r["passed"]] == []
    db.execute("UPDATE users SET level = 'gold' WHERE user_id = %s", (user_id,))  # a kept row that fails ...
    assert [r["name"] for r in run_checks(hour) if not r["passed"]] == []  # ... which this run does not merge
    message, _ = failures(db, hour, run_audit)
    assert "- audit_users_level_accepted (users): observed 1, expected equal 0" in message


def _statements(log: StatementLog) -> list[str]:
    """The statements logged, each with its continuation lines (a statement may span several)."""
    statements: list[str] = []
    for line in log.lines():
        if re.match(r"^\S+ \S+ pid=\d+ ", line):
            statements.append(line.split(" ", 3)[3])
        elif statements:
            statements[-1] += "\n" + line
    return statements


def test_the_checks_of_a_run_are_one_statement_and_their_results_one_insert(db_loaded, stack):
    """Each query was a round trip, and each recorded result another (a driver's executemany): ~70 a run."""
    _, hour = db_loaded
    log = StatementLog(stack)
    results = run_checks(hour)
    sent = _statements(log)
    selects = [s for s in sent if s.startswith("SELECT (")]
    inserts = [s for s in sent if s.startswith('INSERT INTO "dq_results"')]
    assert len(selects) == 1 and len(inserts) == 1, sent
    assert [s for s in sent if s.startswith("SELECT")] == selects  # no query of its own for any check
    assert len(results) == len(CHECKS) and not [r for r in results if not r["passed"]]


def test_a_check_whose_query_fails_is_run_alone_and_fails_the_task_with_its_error(db_loaded, stack):
    """The single statement fails as a whole; the checks then run one by one, so the error is that query's."""
    _, hour = db_loaded
    broken = {"name": "broken_check", "sql": "SELECT COUNT(*) FROM no_such_table", "expected": "== 0"}
    checks = [*CHECKS[:2], SqlCheck.from_mapping(broken), *CHECKS[2:4]]
    log = StatementLog(stack)
    context = task_context(hour, hour + timedelta(hours=1), run_id=RUN_ID)
    with pytest.raises(Exception, match="no_such_table"):
        DataQualityOperator(task_id="run_quality_checks", checks=checks).execute(context)
    sent = _statements(log)
    alone = [s for s in sent if s.startswith("SELECT COUNT(*) FROM no_such_table")]
    assert [s for s in sent if s.startswith("SELECT (")] and alone  # together first, then one by one
    assert sent.index(alone[0]) > max(i for i, s in enumerate(sent) if s.startswith("SELECT ("))
