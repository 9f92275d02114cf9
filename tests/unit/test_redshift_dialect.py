"""The emulator's dialect layer as a pure function: Redshift SQL in, the PostgreSQL it runs out, or Redshift's refusal.

What the rewritten statements return is checked against the documentation's examples in
tests/fidelity (make fidelity); these tests pin the rewrites themselves.
"""

from __future__ import annotations

import pytest

from local_stack.redshift.ddl_rewrite import rewrite_ddl
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
        ("SELECT a || '-' || b, $1 || c FROM t", "SELECT a || '-'::varchar || b, $1::varchar || c FROM t"),
        ("SELECT SYSDATE", "SELECT LOCALTIMESTAMP"),
        ("SELECT TOP 5 a FROM t ORDER BY a", "SELECT  a FROM t ORDER BY a LIMIT 5"),
        ("SELECT * FROM (SELECT TOP 1 a FROM t) s", "SELECT * FROM (SELECT  a FROM t LIMIT 1) s"),
        ("VACUUM SORT ONLY songs TO 75 PERCENT BOOST", "VACUUM songs"),
        ("VACUUM REINDEX", "VACUUM"),
        (
            "SELECT LISTAGG(a, ',') WITHIN GROUP (ORDER BY DATEADD(d, 1, b)) FROM t",
            "SELECT string_agg((a)::varchar, ',' ORDER BY redshift_dateadd('day', 1, b)) FROM t",
        ),
        ("SELECT LISTAGG(DISTINCT a) FROM t", "SELECT string_agg(DISTINCT (a)::varchar, '') FROM t"),
        (
            "SELECT NVL2(a, 'x', NULL) FROM t",
            "SELECT (CASE WHEN (a) IS NOT NULL THEN ('x')::varchar ELSE (NULL)::varchar END) FROM t",
        ),
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


@pytest.mark.parametrize(
    ("redshift", "postgresql"),
    [
        # https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_PART_function.html (a synonym of PGDATE_PART)
        ("SELECT PGDATE_PART(minute, ts) FROM t", "SELECT redshift_date_part('minute', ts) FROM t"),
        # https://docs.aws.amazon.com/redshift/latest/dg/r_NVL2.html: the type of the not-null value; a
        # string literal there makes both values VARCHAR.
        (
            "SELECT NVL2(c, '2345', 1234) FROM t",
            "SELECT (CASE WHEN (c) IS NOT NULL THEN ('2345')::varchar ELSE (1234)::varchar END) FROM t",
        ),
        ("SELECT NVL2(c, b, 'x') FROM t", "SELECT (CASE WHEN (c) IS NOT NULL THEN (b) ELSE ('x') END) FROM t"),
        # https://docs.aws.amazon.com/redshift/latest/dg/r_AVG.html (an integer's average is a BIGINT)
        (
            "SELECT AVG(DISTINCT a), avg(b) OVER (ORDER BY c ROWS UNBOUNDED PRECEDING), s.avg(a) FROM t",
            "SELECT redshift_avg(DISTINCT a), redshift_avg(b) OVER (ORDER BY c ROWS UNBOUNDED PRECEDING), "
            "s.avg(a) FROM t",
        ),
        # https://docs.aws.amazon.com/redshift/latest/dg/r_TO_TIMESTAMP.html (fields roll over); the
        # one-argument form is PostgreSQL's.
        ("SELECT TO_TIMESTAMP(a, 'YYYY', true)", "SELECT redshift_to_timestamp(a, 'YYYY', true)"),
        ("SELECT to_timestamp(1.5)", None),
        # https://docs.aws.amazon.com/redshift/latest/dg/r_CONVERT_function.html
        ("SELECT CONVERT(char(4), 2008)", "SELECT CAST((2008) AS char(4))"),
        ("SELECT CONVERT(datetime, '2008-02-18 02:36:48')", "SELECT CAST(('2008-02-18 02:36:48') AS timestamp)"),
        ("SELECT CONVERT(integer, NVL(a, 0)) FROM t", "SELECT CAST((COALESCE(a, 0)) AS integer) FROM t"),
        ("SELECT convert(b, 'UTF8', 'LATIN1') FROM t", None),  # PostgreSQL's three-argument CONVERT
        # https://docs.aws.amazon.com/redshift/latest/dg/r_WF_LISTAGG.html: the ordering moves into OVER.
        (
            "SELECT LISTAGG(d, ',') WITHIN GROUP (ORDER BY s DESC, i) OVER (PARTITION BY b) FROM t",
            "SELECT string_agg((d)::varchar, ',') OVER (PARTITION BY b ORDER BY s DESC, i ROWS BETWEEN UNBOUNDED "
            "PRECEDING AND UNBOUNDED FOLLOWING) FROM t",
        ),
        ("SELECT LISTAGG(d) OVER () FROM t", "SELECT string_agg((d)::varchar, '') OVER () FROM t"),
        # https://docs.aws.amazon.com/redshift/latest/dg/r_WF_PERCENTILE_CONT.html
        (
            "SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY DATEADD(d, 1, q) DESC) OVER (PARTITION BY s) FROM t",
            "SELECT redshift_percentile_cont((0.5), redshift_dateadd('day', 1, q)) OVER (PARTITION BY s ORDER BY "
            "redshift_dateadd('day', 1, q) DESC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM t",
        ),
        # https://docs.aws.amazon.com/redshift/latest/dg/r_WF_PERCENTILE_DISC.html
        (
            "SELECT PERCENTILE_DISC(0.25) WITHIN GROUP (ORDER BY q) OVER () FROM t",
            "SELECT redshift_percentile_disc((0.25), q) OVER (ORDER BY q ROWS BETWEEN UNBOUNDED PRECEDING AND "
            "UNBOUNDED FOLLOWING) FROM t",
        ),
        # The aggregate form is PostgreSQL's own ordered-set aggregate.
        ("SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY q) FROM t", None),
        # INSERT's VALUES lists are Redshift's too.
        ("INSERT INTO t (a, b) VALUES (1, 2), (3, 4)", None),
    ],
)
def test_redshift_functions_postgresql_answers_otherwise_are_rewritten(redshift, postgresql):
    assert translate(redshift) == postgresql


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT LISTAGG(DISTINCT a) WITHIN GROUP (ORDER BY a) OVER (PARTITION BY b) FROM t", "LISTAGG(DISTINCT"),
        ("SELECT LISTAGG(DISTINCT a) OVER () FROM t", "LISTAGG(DISTINCT"),
        ("SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY q) OVER (ORDER BY s) FROM t", "window ordering"),
        ("SELECT PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY q) OVER w FROM t WINDOW w AS ()", "named window"),
    ],
)
def test_window_forms_the_translation_cannot_express_are_refused_with_0a000(sql, fragment):
    with pytest.raises(StatementError) as refused:
        translate(sql)
    assert refused.value.sqlstate == "0A000"
    assert fragment in refused.value.message


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
        "SELECT DISTINCT a FROM t JOIN u ON u.b = t.a",  # a join: no single table's key
        "ALTER TABLE t ADD COLUMN path VARCHAR(256)",  # column names that are PostgreSQL type names
        "ALTER TABLE t ADD json VARCHAR(256)",
        "CREATE TABLE t (id INT, line VARCHAR(8), point INT)",
    ],
)
def test_statements_without_redshift_constructs_run_as_they_are(sql):
    assert translate(sql) is None


def trusted(relation: str, *columns: str) -> str:
    """The emulator's question whether `relation` has a recorded key among `columns` (constraints.sql)."""
    names = ", ".join(f"'{c}'" for c in columns)
    return f"(SELECT redshift_emulator.trusted_key('{relation}', ARRAY[{names}]::text[]))"


@pytest.mark.parametrize(
    ("redshift", "postgresql"),
    [
        (
            "SELECT DISTINCT a, b + 1 AS c FROM t",
            f"SELECT a, b + 1 AS c FROM t GROUP BY 1, 2, CASE WHEN {trusted('t', 'a')} THEN gen_random_uuid() END",
        ),
        (
            'SELECT DISTINCT u.Id, u."Name" n FROM s.users AS u WHERE u.id > (0) ORDER BY 1 LIMIT 3',
            'SELECT u.Id, u."Name" n FROM s.users AS u WHERE u.id > (0) GROUP BY 1, 2, CASE WHEN '
            f"{trusted('s.users', 'id', 'Name')} THEN gen_random_uuid() END ORDER BY 1 LIMIT 3",
        ),
        (
            "SELECT TOP 2 DISTINCT q FROM sales ORDER BY q",
            f"SELECT  q FROM sales GROUP BY 1, CASE WHEN {trusted('sales', 'q')} THEN gen_random_uuid() END "
            "ORDER BY q LIMIT 2",
        ),
        (
            "SELECT * FROM (SELECT TOP 2 DISTINCT q FROM sales)",
            f"SELECT * FROM (SELECT  q FROM sales GROUP BY 1, CASE WHEN {trusted('sales', 'q')} THEN "
            "gen_random_uuid() END LIMIT 2)",
        ),
        (
            "SELECT n FROM (SELECT DISTINCT a AS n FROM t) d",
            f"SELECT n FROM (SELECT a AS n FROM t GROUP BY 1, CASE WHEN {trusted('t', 'a')} THEN gen_random_uuid() "
            "END) d",
        ),
        (  # common-sql's unique_check template
            'SELECT COUNT("k") - COUNT(DISTINCT("k")) FROM "t" WHERE TRUE',
            f"""SELECT COUNT("k") - (CASE WHEN {trusted('"t"', "k")} THEN COUNT("k") ELSE COUNT(DISTINCT("k")) END) """
            'FROM "t" WHERE TRUE',
        ),
        (
            "SELECT g, COUNT(DISTINCT p.k) FROM t p GROUP BY g",
            f"SELECT g, (CASE WHEN {trusted('t', 'k')} THEN COUNT(p.k) ELSE COUNT(DISTINCT p.k) END) "
            "FROM t p GROUP BY g",
        ),
    ],
)
def test_distinct_over_a_single_tables_columns_asks_whether_the_planner_may_trust_a_key(redshift, postgresql):
    # https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html: "a SELECT DISTINCT query
    # might return duplicate rows if the primary key is not unique"; the key is looked up when the query runs.
    assert translate(redshift) == postgresql


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT DISTINCT * FROM t",
        "SELECT DISTINCT 1, a + 1 FROM t",  # no column of the table as an item
        "SELECT DISTINCT x.a FROM t",  # (not t's column)
        "SELECT DISTINCT a FROM t GROUP BY a, b",
        "SELECT DISTINCT a, SUM(b) OVER () FROM t",
        "SELECT DISTINCT a FROM t, u",
        "SELECT DISTINCT a FROM (SELECT a FROM t) s",
        "WITH t AS (SELECT 1 AS a) SELECT DISTINCT a FROM t",
        "WITH w (a) AS (SELECT 1) SELECT COUNT(DISTINCT a) FROM w",
        "SELECT COUNT(DISTINCT a + 1) FROM t",
        "SELECT a FROM t GROUP BY a HAVING COUNT(DISTINCT b) > 1",
        "SELECT DISTINCT b FROM t AS x (a, b)",  # a column alias list renames t's columns
        "CREATE VIEW v AS SELECT DISTINCT a FROM t",  # a view's rows must not depend on its reader's search path
        "CREATE OR REPLACE VIEW v AS SELECT COUNT(DISTINCT a) FROM t",
    ],
)
def test_distinct_elsewhere_is_left_as_written(sql):
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
        ("SELECT count(*) FROM t JOIN (VALUES (1), (2)) AS v(a) ON t.a = v.a", "0A000", "VALUES list"),
        ("WITH v AS (values (1)) SELECT * FROM v", "0A000", "VALUES list"),
        ("CREATE TEMP TABLE t (duration INTERVAL)", "0A000", '"interval"'),
        ("ALTER TABLE t ADD COLUMN d interval", "0A000", '"interval"'),
        ("CREATE TABLE c (p VARCHAR(10)) INHERITS (parent)", "0A000", "INHERITS"),
        ("CREATE TABLE p (ts TIMESTAMP) PARTITION BY RANGE (ts)", "0A000", "PARTITION BY"),
        ("CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (2)", "0A000", "PARTITION OF"),
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


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t AS SELECT a, row_number() OVER (PARTITION BY b ORDER BY c) AS n FROM s",
        "CREATE TABLE t AS SELECT ts + INTERVAL '1 hour' AS later FROM s",
        "SELECT ts + interval '1 day', sum(a) OVER (PARTITION BY b) FROM t",
    ],
)
def test_partition_by_and_interval_outside_a_table_definition_are_not_refused(sql):
    translate(sql)  # raises StatementError if refused


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
    assert not needs_translation("INSERT INTO t (a, b) VALUES (1, 2), (3, 4)")  # not lexed at all
    assert needs_translation("SELECT * FROM ( VALUES (1)) v")
    assert not needs_translation("SELECT 'SYSDATE'")
    assert needs_translation("SELECT sysdate")


@pytest.mark.parametrize(
    ("ddl", "postgresql"),
    [
        ("CREATE TABLE t (description TEXT)", "CREATE TABLE t (description VARCHAR(256))"),
        ("CREATE TABLE t (code bpchar, n INT)", "CREATE TABLE t (code CHAR(256), n INT)"),
        ("ALTER TABLE t ADD COLUMN note text", "ALTER TABLE t ADD COLUMN note VARCHAR(256)"),
        ("CREATE TABLE t (code BPCHAR(3), v VARCHAR(10))", None),  # a length of its own stays
    ],
)
def test_text_and_bpchar_columns_get_redshifts_lengths(ddl, postgresql):
    # https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html: a TEXT column is stored as
    # VARCHAR(256), a BPCHAR column as CHAR(256).
    assert rewrite_ddl(ddl) == postgresql


def test_a_query_of_several_statements_is_translated_statement_by_statement():
    from local_stack.redshift.session import to_postgresql

    rewritten = to_postgresql(
        "DROP TABLE IF EXISTS p; CREATE TABLE p (a INT PRIMARY KEY) DISTSTYLE EVEN; SELECT NVL(1, 2)"
    )
    assert rewritten is not None
    drop, create, select = rewritten.split(";\n")
    assert drop == "DROP TABLE IF EXISTS p"
    assert create.startswith("DO $ddl$ BEGIN CREATE TABLE p (a INT NOT NULL)") and "add_constraint" in create
    assert select == " SELECT COALESCE(1, 2)"
    assert to_postgresql("SELECT ';'; SELECT 2;") is None
