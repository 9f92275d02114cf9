"""No COPY but Redshift's reaches the emulator's PostgreSQL: no server-side file or program, no COPY TO.

Redshift's COPY loads from Amazon S3, EMR, DynamoDB or a host over SSH
(https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html), and it exports with UNLOAD
(https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html): it has no COPY ... TO, no COPY FROM
STDIN, and never reads or writes a file or runs a program on the cluster's hosts. PostgreSQL does all
of these, as the emulator's backend user; the emulator refuses them with 0A000, naming what to use.
"""

from __future__ import annotations

import psycopg
import pytest
import redshift_connector

from tests.support import connect_redshift_connector

pytestmark = pytest.mark.integration
REFUSED = {
    "COPY trunc_target FROM STDIN": "COPY ... FROM STDIN",
    "copy trunc_target (id) from stdin with (format csv)": "COPY ... FROM STDIN",
    "COPY trunc_target FROM '/etc/passwd'": "COPY ... FROM a server file",
    "/* a comment first */ COPY trunc_target FROM PROGRAM 'id'": "COPY ... FROM PROGRAM",
    "COPY trunc_target FROM 'file:///etc/passwd'": "COPY from file://",
    "COPY trunc_target TO STDOUT": "COPY ... TO STDOUT",
    "COPY trunc_target TO '/tmp/emulator-copy-to'": "COPY ... TO a server file",
    "COPY (SELECT 1) TO PROGRAM 'touch /tmp/emulator-copy-program'": "COPY ... TO PROGRAM",
}


@pytest.fixture
def target(db):
    db.execute("DROP TABLE IF EXISTS trunc_target")
    db.execute("CREATE TABLE trunc_target (id INTEGER)")
    yield
    db.execute("DROP TABLE IF EXISTS trunc_target")


@pytest.mark.parametrize("sql", sorted(REFUSED))
@pytest.mark.parametrize("binary", [False, True], ids=["simple", "extended"])
def test_psycopg_gets_0a000_naming_the_copy(sql, binary, warehouse_dsn, target):
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported) as refused:
            conn.cursor().execute(sql, binary=binary)
        message = refused.value.diag.message_primary or ""
        assert REFUSED[sql] in message
        advice = refused.value.diag.message_detail or message
        assert ("UNLOAD" if " TO " in REFUSED[sql] else "s3://") in advice  # what to use instead
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_psycopg_copy_to_stdout_and_from_stdin_are_refused_before_any_data_moves(warehouse_dsn, target):
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="UNLOAD|SELECT"):
            with conn.cursor().copy("COPY (SELECT 1 UNION ALL SELECT 2) TO STDOUT") as copy:
                list(copy)
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="FROM STDIN"):
            with conn.cursor().copy("COPY trunc_target FROM STDIN") as copy:
                copy.write_row([1])
        assert conn.execute("SELECT count(*) FROM trunc_target").fetchone() == (0,)


@pytest.mark.parametrize("sql", sorted(REFUSED))
def test_redshift_connector_gets_0a000(sql, stack, target):
    conn = connect_redshift_connector(stack)
    try:
        cursor = conn.cursor()
        with pytest.raises(redshift_connector.ProgrammingError) as refused:
            cursor.execute(sql)
        fields = refused.value.args[0]
        assert fields["C"] == "0A000"
        assert REFUSED[sql] in fields["M"]
        conn.rollback()
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == [1]
    finally:
        conn.close()


def test_a_program_copy_hidden_after_another_statement_is_refused_and_nothing_runs(warehouse_dsn, target):
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="PROGRAM"):
            conn.execute("INSERT INTO trunc_target VALUES (1); COPY trunc_target TO PROGRAM 'cat'", prepare=False)
        assert conn.execute("SELECT count(*) FROM trunc_target").fetchone() == (0,)
