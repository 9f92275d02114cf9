from __future__ import annotations

import pytest

from sparkify.ddl import split_statements, table_columns
from sparkify.identifiers import quote_table, split_table_name
from tests.support import SQL_DIR

REDSHIFT_DDL = (SQL_DIR / "create_tables.sql").read_text()


def test_redshift_ddl_keeps_its_distribution_and_sort_keys():
    statements = split_statements(REDSHIFT_DDL)
    songplays = next(s for s in statements if "songplays" in s)
    assert "DISTKEY (user_id)" in songplays and "SORTKEY (start_time, user_id)" in songplays
    assert len(statements) == 14


def test_comments_and_semicolons_are_split_cleanly():
    assert split_statements("-- a\nSELECT 1;\n\n/* b */ SELECT 2;") == ["SELECT 1", "SELECT 2"]


@pytest.mark.parametrize("name", ["users", "public.users", "_x1"])
def test_valid_table_names_are_quoted(name):
    assert quote_table(name).count('"') == 2 * len(name.split("."))


@pytest.mark.parametrize("name", ["Users", "users;", "a.b.c", "1users", 'us"ers', ""])
def test_invalid_table_names_are_refused(name):
    with pytest.raises(ValueError):
        split_table_name(name)


def test_table_columns_read_every_table_without_a_sql_parser():
    tables = table_columns(REDSHIFT_DDL)
    assert len(tables) == len(split_statements(REDSHIFT_DDL)) == 14
    assert tables["songplays"][:3] == ["songplay_id", "start_time", "user_id"]
    assert "sqlparse" not in table_columns.__globals__  # the parser is imported only to split statements


def test_table_columns_skip_comments_and_strings_and_nested_parentheses():
    script = """
    -- CREATE TABLE in_a_comment (a INT);
    /* CREATE TABLE in_a_block (b INT); */
    CREATE TABLE IF NOT EXISTS t (
        price DECIMAL(10, 2) DEFAULT 0,   -- a comment with ) and (
        label VARCHAR(8) DEFAULT ')',
        PRIMARY KEY (price)
    ) DISTSTYLE ALL;
    CREATE TABLE u (id INT);
    """
    assert table_columns(script) == {"t": ["price", "label"], "u": ["id"]}


def test_an_unbalanced_create_table_is_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        table_columns("CREATE TABLE t (id INT")
