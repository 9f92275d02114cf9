"""The emulator's dialect layer as a pure function: Redshift SQL in, the PostgreSQL it runs out, or Redshift's refusal.

What the rewritten statements return is checked against the documentation's examples in
tests/fidelity (make fidelity); these tests pin the rewrites themselves.
"""

from __future__ import annotations

import pytest

from local_stack.redshift.dialect import needs_translation, translate
from local_stack.redshift.dialect.dateparts import CANONICAL, canonical
from local_stack.redshift.sql_tokens import StatementError

PROJECT_SQL = "include/sql"


@pytest.mark.parametrize(
    ("redshift", "postgresql"),
    [
        ("SELECT EXTRACT(dayofweek FROM ts) FROM t", "SELECT redshift_extract('dow', ts) FROM t"),
        ("SELECT extract(weekday from ts) FROM t", "SELECT redshift_extract('dow', ts) FROM t"),
        ("SELECT DATE_PART(dow, ts) FROM t", "SELECT redshift_date_part('dow', ts) FROM t"),
        ("SELECT DATEPART('w', ts) FROM t", "SELECT redshift_date_part('week', ts) FROM t"),
        ("SELECT DATEADD(mins, 5, ts) FROM t", "SELECT redshift_dateadd('minute', 5, ts) FROM t"),
        ("SELECT DATEDIFF(qtr, a, b) FROM t", "SELECT redshift_datediff('quarter', a, b) FROM t"),
        ("SELECT DATE_TRUNC('yrs', ts) FROM t", "SELECT redshift_date_trunc('year', ts) FROM t"),
        ("SELECT NVL(a, 0) FROM t", "SELECT COALESCE(a, 0) FROM t"),
        ("SELECT SYSDATE", "SELECT LOCALTIMESTAMP"),
        ("SELECT TOP 5 a FROM t ORDER BY a", "SELECT  a FROM t ORDER BY a LIMIT 5"),
        ("SELECT * FROM (SELECT TOP 1 a FROM t) s", "SELECT * FROM (SELECT  a FROM t LIMIT 1) s"),
        ("VACUUM SORT ONLY songs TO 75 PERCENT BOOST", "VACUUM songs"),
        ("VACUUM REINDEX", "VACUUM"),
        (
            "SELECT LISTAGG(a, ',') WITHIN GROUP (ORDER BY DATEADD(d, 1, b)) FROM t",
            "SELECT string_agg((a)::varchar, ',' ORDER BY redshift_dateadd('day', 1, b))  FROM t",
        ),
        ("SELECT LISTAGG(DISTINCT a) FROM t", "SELECT string_agg(DISTINCT (a)::varchar, '') FROM t"),
        ("SELECT NVL2(a, 'x', NULL) FROM t", "SELECT (CASE WHEN (a) IS NOT NULL THEN ('x') ELSE (NULL) END) FROM t"),
        (
            "SELECT DECODE(a, 1, 'one', NULL, 'none', 'other') FROM t",
            "SELECT (CASE WHEN (a) IS NOT DISTINCT FROM (1) THEN ('one') WHEN (a) IS NOT DISTINCT FROM (NULL) "
            "THEN ('none') ELSE ('other') END) FROM t",
        ),
        # Nested: the outer rewrite renders the inner one.
        (
            "SELECT NVL2(DATEADD(day, 1, a), DECODE(b, 1, 2), 0) FROM t",
            "SELECT (CASE WHEN (redshift_dateadd('day', 1, a)) IS NOT NULL THEN ((CASE WHEN (b) IS NOT DISTINCT "
            "FROM (1) THEN (2) ELSE NULL END)) ELSE (0) END) FROM t",
        ),
    ],
)
def test_redshift_constructs_are_rewritten(redshift, postgresql):
    assert translate(redshift) == postgresql


def test_version_answers_in_redshifts_form_with_the_postgresql_8_prefix_drivers_parse():
    # https://docs.aws.amazon.com/redshift/latest/dg/r_VERSION.html
    text = translate("SELECT version()")
    assert text is not None and text.startswith("SELECT 'PostgreSQL 8.0.2 on ") and "Redshift 1.0." in text


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a, b FROM t WHERE c = 1",
        "SELECT 'DATEADD(day, 1, x) ON CONFLICT' AS text_only FROM t -- NVL(a) in a comment",
        "SELECT top_songs, nvl_count, version_id FROM t",  # words that only contain a keyword
        "SELECT DISTINCT a FROM t",
    ],
)
def test_statements_without_redshift_constructs_run_as_they_are(sql):
    assert translate(sql) is None


@pytest.mark.parametrize(
    ("sql", "sqlstate", "fragment"),
    [
        ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "42601", 'near "ON"'),
        ("INSERT INTO t VALUES (1) RETURNING a", "42601", 'near "RETURNING"'),
        ("WITH moved AS (DELETE FROM t RETURNING *) SELECT 1", "42601", 'near "DELETE"'),
        ("WITH moved AS (DELETE FROM t) SELECT 1", "42601", 'near "DELETE"'),
        ("SELECT a::jsonb FROM t", "42704", '"jsonb"'),
        ("CREATE TABLE t (a INT, b JSON)", "42704", '"json"'),
        ("CREATE TABLE t (a SERIAL)", "42704", '"serial"'),
        ("SELECT CAST(a AS uuid) FROM t", "42704", '"uuid"'),
        ("CREATE TABLE t (a INT[])", "42601", '"["'),
        ("SELECT ARRAY[1, 2]", "0A000", "array constructors"),
        ("CREATE INDEX t_a ON t (a)", "0A000", "CREATE INDEX"),
        ("CREATE UNIQUE INDEX t_a ON t (a)", "0A000", "CREATE UNIQUE INDEX"),
        ("SELECT generate_series(1, 3) FROM t", "0A000", "not supported on Redshift tables"),
        ("SELECT string_agg(a, ',') FROM t", "42883", "string_agg"),
        ("SELECT array_agg(a) FROM t", "42883", "array_agg"),
        ("SELECT pg_read_file('/etc/passwd')", "42883", "pg_read_file"),
        ("SELECT DISTINCT ON (a) a FROM t", "0A000", "DISTINCT ON"),
        ("SELECT count(*) FILTER (WHERE a > 1) FROM t", "42601", "FILTER"),
        ("SELECT a FROM t WHERE a IS DISTINCT FROM b", "0A000", "IS [NOT] DISTINCT FROM"),
        ("UNLOAD ('SELECT 1') TO 's3://b/p'", "0A000", "UNLOAD"),
        ("SELECT DATEADD(dow, 1, ts) FROM t", "0A000", 'date part "dow"'),
        ("SELECT EXTRACT(fortnight FROM ts) FROM t", "0A000", 'date part "fortnight"'),
    ],
)
def test_postgresql_only_sql_is_refused_with_redshifts_error(sql, sqlstate, fragment):
    # https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html
    # https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-functions.html
    # https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-datatypes.html
    with pytest.raises(StatementError) as refused:
        translate(sql)
    assert refused.value.sqlstate == sqlstate
    assert fragment in refused.value.message + (refused.value.detail or "")


def test_generate_series_without_a_table_runs_as_on_redshifts_leader_node():
    assert translate("SELECT generate_series(1, 3)") is None


def test_every_date_part_and_abbreviation_in_redshifts_table_is_known():
    # https://docs.aws.amazon.com/redshift/latest/dg/r_Dateparts_for_datetime_functions.html
    documented = """millennium millennia mil mils century centuries c cent cents decade decades dec decs epoch
        year years y yr yrs quarter quarters qtr qtrs month months mon mons week weeks w dayofweek dow dw weekday
        dayofyear doy dy yearday day days d hour hours h hr hrs minute minutes m min mins second seconds s sec secs
        millisecond milliseconds ms msec msecs msecond mseconds millisec millisecs millisecon microsecond
        microseconds microsec microsecs usecond useconds us usec usecs timezone timezone_hour timezone_minute"""
    assert set(documented.split()) == set(CANONICAL)
    assert canonical("M", "EXTRACT") == "minute" and canonical("mon", "DATEADD") == "month"


def test_the_projects_own_statements_translate_without_refusal():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / PROJECT_SQL
    statements = [s for path in sorted(root.rglob("*.sql")) for s in path.read_text().split(";") if s.strip()]
    assert len(statements) > 20
    for statement in statements:
        translate(statement)  # raises StatementError for anything Redshift would refuse


def test_the_gate_ignores_comments_and_strings_but_not_code():
    assert not needs_translation("SELECT 1 -- SYSDATE\n")
    assert not needs_translation("SELECT 'SYSDATE'")
    assert needs_translation("SELECT sysdate")
