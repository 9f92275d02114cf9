"""`make report` after `make import-dwh-cfg` and `set -a; . ./.env.dwh; set +a` reports on dwh.cfg's cluster.

The "cluster" is a database of its own, with its own user, in the session's embedded
PostgreSQL, so the report can only find its rows by connecting where dwh.cfg points.
The imported aws_default has keys only (no endpoint), as it does for a real account.
"""

from __future__ import annotations

import psycopg
import pytest
from dotenv import dotenv_values
from psycopg import sql

from local_stack import dwh_cfg
from sparkify.report.refresh import REPORT_FILE
from tests.support import reset_schema

pytestmark = pytest.mark.integration

DB, USER, PASSWORD = "imported_dwh", "imported_user", "Imp0rted-Cluster-pw"
SONG = "Only On The Imported Cluster"


def dwh_cfg_text(port: int) -> str:
    return f"""
[AWS]
KEY=TESTREPORTACCESSKEY0
SECRET=report-test-secret

[CLUSTER]
HOST=127.0.0.1
DB_NAME={DB}
DB_USER={USER}
DB_PASSWORD={PASSWORD}
DB_PORT={port}

[IAM_ROLE]
ARN=

[S3]
LOG_DATA=s3://udacity-dend/log_data
LOG_JSONPATH=s3://udacity-dend/log_json_path.json
SONG_DATA=s3://udacity-dend/song_data
"""


@pytest.fixture
def imported_cluster(backend, settings, warehouse_dsn):
    """A database owned by its own user, with a star schema holding three plays of one song. The user and the
    database are made as the warehouse's private superuser: the stack's login may not create either."""
    backend.execute(f"DROP DATABASE IF EXISTS {DB}")
    backend.execute(f"DROP ROLE IF EXISTS {USER}")
    backend.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(USER), sql.Literal(PASSWORD)))
    backend.execute(f"CREATE DATABASE {DB} OWNER {USER}")
    conninfo = psycopg.conninfo.make_conninfo(warehouse_dsn, dbname=DB, user=USER, password=PASSWORD)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        reset_schema(conn)
        conn.execute("INSERT INTO artists VALUES ('AR1', 'Imported Artist', 'Oslo', NULL, NULL)")
        conn.execute("INSERT INTO songs VALUES ('SO1', %s, 'AR1', 2018, 200.0)", (SONG,))
        conn.execute("INSERT INTO users VALUES (7, 'Ada', 'L', 'F', 'paid')")
        for n in range(3):
            conn.execute("INSERT INTO time VALUES (%s, 10, 15, 46, 11, 2018, 4)", (f"2018-11-15 10:0{n}:00",))
            conn.execute(
                "INSERT INTO songplays VALUES (%s, %s, 7, 'paid', 'SO1', 'AR1', 1, 'Oslo', 'Mozilla/5.0')",
                (f"sp{n}", f"2018-11-15 10:0{n}:00"),
            )
    yield settings.warehouse_port
    backend.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    backend.execute(f"DROP ROLE IF EXISTS {USER}")


def test_make_report_uses_the_imported_redshift_connection(imported_cluster, tmp_path, monkeypatch, capsys):
    from local_stack import make_report

    cfg, env_file = tmp_path / "dwh.cfg", tmp_path / ".env.dwh"
    cfg.write_text(dwh_cfg_text(imported_cluster))
    assert dwh_cfg.main([str(cfg), "--out", str(env_file)]) == 0
    for name, value in dotenv_values(env_file).items():  # set -a; . ./.env.dwh; set +a
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_DIR", str(tmp_path / "reports"))
    capsys.readouterr()

    assert make_report.main() == 0
    captured = capsys.readouterr()
    out = captured.out

    path = (tmp_path / "reports" / REPORT_FILE).resolve()
    assert out.startswith(
        f"Reporting on the warehouse 127.0.0.1:{imported_cluster}/{DB} (connection from AIRFLOW_CONN_REDSHIFT)"
    )
    assert out.rstrip().endswith(f"Report written to {path}")
    assert any(SONG in line and "Imported Artist" in line and " 3 " in f"{line} " for line in out.splitlines())
    page = path.read_text(encoding="utf-8")
    assert SONG in page and f"127.0.0.1:{imported_cluster}/{DB}" in page
    assert PASSWORD not in out + captured.err + page
