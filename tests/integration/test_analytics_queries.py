"""The analytics queries on the local warehouse, each compared with an answer computed independently in Python.

The star schema is loaded with the independent model of a generated sample (so these
tests check the questions, not the ETL), then every query in include/sql/analytics/
must return exactly the rows that tests/expected_analytics.py computes.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from html import escape

import psycopg
import pytest

from local_stack.sample_data import SampleSpec, generate
from sparkify.report.analytics_queries import load_queries, run_query
from sparkify.report.refresh import REPORT_FILE, refresh_report
from tests.expected import expected_star
from tests.expected_analytics import EXPECTED, browser_family
from tests.support import PROJECT_ROOT, reset_schema

pytestmark = pytest.mark.integration

ANALYTICS_SQL = PROJECT_ROOT / "include" / "sql" / "analytics"
QUERIES = load_queries(ANALYTICS_SQL)
SPEC = SampleSpec(seed=31, songs=120, users=25, first_day=date(2018, 11, 1), days=7, sessions_per_day=12)
# Top-ten answers and the column they are ranked by: the sample has more than ten candidates and ties at
# places where the tie-break decides the answer. (It has only eight user locations, so top_locations is
# checked without its limit.)
RANKED = {"top_songs": 2, "top_artists": 1, "most_active_users": 3}
COLUMNS = {
    "songplays": (
        "songplay_id",
        "start_time",
        "user_id",
        "level",
        "song_id",
        "artist_id",
        "session_id",
        "location",
        "user_agent",
    ),
    "users": ("user_id", "first_name", "last_name", "gender", "level"),
    "songs": ("song_id", "title", "artist_id", "year", "duration"),
    "artists": ("artist_id", "name", "location", "latitude", "longitude"),
    "time": ("start_time", "hour", "day", "week", "month", "year", "weekday"),
}


@pytest.fixture(scope="module")
def star(warehouse_dsn, tmp_path_factory):
    """A generated week, modelled in Python and loaded into the warehouse's star schema."""
    root = tmp_path_factory.mktemp("analytics-sample")
    generate(root, SPEC)
    start = datetime.combine(SPEC.first_day, datetime.min.time())
    model = expected_star(root, [(start, start + timedelta(days=SPEC.days))])
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        reset_schema(conn)
        with conn.cursor() as cursor:
            for table, columns in COLUMNS.items():
                placeholders = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})',
                    sorted(getattr(model, table), key=repr),
                )
    return model


def test_every_query_has_an_independent_answer():
    assert [q.name for q in QUERIES] == list(EXPECTED)  # same questions, in report order


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_query_returns_the_independent_answer(query, star, db):
    expected = EXPECTED[query.name](star)
    with db.cursor() as cursor:
        result = run_query(cursor, query)

    assert result.rows == expected
    assert len(expected) >= 2, "the sample should make the question non-trivial"


@pytest.mark.parametrize("name", RANKED)
def test_the_sample_exercises_limits_and_tie_breaks(star, name):
    """Without more candidates than the limit and without ties, a wrong LIMIT or ORDER BY would go unnoticed."""
    rows = EXPECTED[name](star)
    assert len(rows) == 10
    ranks = [row[RANKED[name]] for row in rows]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) < len(ranks)


AGENTS = {
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko": "Internet Explorer",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)": "Internet Explorer",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 "
    "Safari/537.36 Edge/18.18362": "Edge",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 Edg/120.0.0.0": "Edge",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.125 "
    "Safari/537.36": "Chrome",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3 like Mac OS X) AppleWebKit/602.1.50 (KHTML, like Gecko) "
    "CriOS/56.0.2924.75 Mobile/14E5239e Safari/602.1": "Chrome",
    '"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0"': "Firefox",
    "Mozilla/5.0 (iPad; CPU OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Version/7.0 "
    "Mobile/11D257 Safari/9537.53": "Mobile Safari",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.77.4 (KHTML, like Gecko) Version/7.0.6 "
    "Safari/537.78.2": "Safari",
    "curl/7.64.1": "Other",
    None: "Unknown",
}


def test_user_agent_families_of_real_world_agents(star, warehouse_dsn):
    """Hand-labelled agents beyond the sample's five, in a transaction that is rolled back."""
    [query] = [q for q in QUERIES if q.name == "user_agent_families"]
    assert {agent: browser_family(agent) for agent in AGENTS} == AGENTS
    with psycopg.connect(warehouse_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("DELETE FROM songplays")
        cursor.executemany(
            "INSERT INTO songplays (songplay_id, start_time, user_id, level, user_agent) "
            "VALUES (%s, '2018-11-15 10:00', %s, 'free', %s)",
            [(f"id{n}", n, agent) for n, agent in enumerate(AGENTS)],
        )
        rows = run_query(cursor, query).rows
        conn.rollback()
    counts = {family: list(AGENTS.values()).count(family) for family in AGENTS.values()}
    assert {family: plays for family, plays, _ in rows} == counts


def test_the_report_page_holds_every_answer_and_chart(star, db, tmp_path):
    with db.cursor() as cursor:
        first = refresh_report(cursor, ANALYTICS_SQL, tmp_path, "the test warehouse")
        second = refresh_report(cursor, ANALYTICS_SQL, tmp_path, "the test warehouse")

    assert first.path == second.path == (tmp_path / REPORT_FILE).resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == [REPORT_FILE], "one page, no temporary files left"
    page = second.path.read_text(encoding="utf-8")
    charted = [q for q in QUERIES if q.chart != "none"]
    assert len(charted) == len(QUERIES)
    assert page.count('src="data:image/png;base64,iVBORw0KGgo') == len(charted)  # base64 of the PNG signature
    for query in QUERIES:
        assert f"<h2>{query.title}</h2>" in page
    title, artist, plays, listeners = EXPECTED["top_songs"](star)[0]
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", page[page.index('id="top_songs"') :]).group(1)
    assert first_row == (
        f"<td>{escape(title)}</td><td>{escape(artist)}</td>"
        f'<td class="number">{plays}</td><td class="number">{listeners}</td>'
    )


def test_make_report_prints_the_tables_and_the_report_path(star, tmp_path, monkeypatch, capsys):
    from local_stack import make_report

    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_DIR", str(tmp_path))
    assert make_report.main() == 0
    out = capsys.readouterr().out

    assert out.rstrip().endswith(f"Report written to {(tmp_path / REPORT_FILE).resolve()}")
    assert (tmp_path / REPORT_FILE).is_file()
    for query in QUERIES:
        assert f"{query.title}\n{'=' * len(query.title)}\n" in out
    hours = EXPECTED["plays_by_hour"](star)
    assert re.search(rf"^\s*{hours[0][0]}\s+{hours[0][1]}$", out, re.MULTILINE)


def test_make_report_explains_an_empty_warehouse(star, settings, backend, tmp_path, monkeypatch, capsys):
    from local_stack import make_report

    backend.execute("DROP DATABASE IF EXISTS report_empty")  # the stack's login may not create a database
    backend.execute(f"CREATE DATABASE report_empty OWNER {settings.warehouse_user}")
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT", json.dumps({**settings.warehouse_conn, "schema": "report_empty"}))
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_DIR", str(tmp_path))

    assert make_report.main() == 2
    captured = capsys.readouterr()
    assert "has no star schema yet. Load it with `make demo` or `make run`" in captured.err
    assert settings.warehouse_password not in captured.out + captured.err
    assert not (tmp_path / REPORT_FILE).exists()


def test_make_report_explains_a_stopped_local_warehouse(settings, tmp_path, monkeypatch, capsys):
    """No AIRFLOW_CONN_REDSHIFT in the environment: the local stack's connection from .env."""
    from local_stack import make_report
    from local_stack.processes import free_port

    monkeypatch.delenv("AIRFLOW_CONN_REDSHIFT")
    monkeypatch.setenv("SPARKIFY_WAREHOUSE_PORT", str(free_port()))
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_DIR", str(tmp_path))

    assert make_report.main() == 2
    captured = capsys.readouterr()
    assert "cannot connect to the local warehouse" in captured.err and "make up" in captured.err
    assert settings.warehouse_password not in captured.out + captured.err


def test_make_report_explains_an_unreachable_connection(settings, tmp_path, monkeypatch, capsys):
    from local_stack import make_report
    from local_stack.processes import free_port

    port = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT", json.dumps({**settings.warehouse_conn, "port": port}))
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_DIR", str(tmp_path))

    assert make_report.main() == 2
    captured = capsys.readouterr()
    assert (
        f"cannot connect to the warehouse at 127.0.0.1:{port}/{settings.warehouse_db} (AIRFLOW_CONN_REDSHIFT)"
        in captured.err
    )
    assert settings.warehouse_password not in captured.out + captured.err


def test_make_report_on_the_local_stack_reads_no_s3_settings(star, settings, tmp_path, monkeypatch, capsys):
    """Without AIRFLOW_CONN_REDSHIFT in the environment, .env's warehouse; aws_default may lack an endpoint."""
    from local_stack import make_report

    monkeypatch.delenv("AIRFLOW_CONN_REDSHIFT")
    monkeypatch.setenv("SPARKIFY_WAREHOUSE_PORT", str(settings.warehouse_port))
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "login": "k", "password": "s"}))
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_DIR", str(tmp_path))

    assert make_report.main() == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"Reporting on the warehouse 127.0.0.1:{settings.warehouse_port}/{settings.warehouse_db} "
        f"(connection from the local stack's .env)"
    )
    assert out.rstrip().endswith(f"Report written to {(tmp_path / REPORT_FILE).resolve()}")
