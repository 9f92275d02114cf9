"""The warehouse login is like a Redshift user's: it owns its database and nothing else.

A Redshift user made by CREATE USER is no superuser unless CREATEUSER says so
(https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_USER.html,
https://docs.aws.amazon.com/redshift/latest/dg/r_superusers.html), and Redshift's COPY reads only
Amazon S3, EMR, DynamoDB or remote hosts over SSH, never the server's files or programs
(https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html). The emulator's own side connections use
a private superuser that only the private socket reaches. The generated password is in a 0600 file that
git ignores; `.env` has the connection's shape only.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid

import psycopg
import pytest
from dotenv import dotenv_values
from psycopg import sql

from local_stack import warehouse_server
from local_stack.processes import StackError, free_port
from local_stack.redshift.catalog import SERVER_FILE_ROLES
from local_stack.settings import PROJECT_ROOT, load_settings
from local_stack.warehouse_server import ADMIN_ROLE, BACKEND_PORT, METADATA_ROLE, WarehouseServer
from tests.support import put_objects

pytestmark = pytest.mark.integration
BUCKET = "sparkify-login-tests"
KEYS = "ACCESS_KEY_ID 'login-test-key' SECRET_ACCESS_KEY 'login-test-secret-value'"


def client(stack, **overrides) -> psycopg.Connection:
    """A connection through the emulator, as the client login."""
    args = {
        "host": stack.warehouse_host,
        "port": stack.warehouse_port,
        "user": stack.warehouse_user,
        "password": stack.warehouse_password,
        "dbname": stack.warehouse_db,
        "autocommit": True,
        "connect_timeout": 10,
    }
    return psycopg.connect(**(args | overrides))


@pytest.fixture
def table(db):
    db.execute("DROP TABLE IF EXISTS login_t")
    db.execute("CREATE TABLE login_t (line VARCHAR(256))")
    yield "login_t"
    db.execute("DROP TABLE IF EXISTS login_t")


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT pg_read_file('/etc/hostname')",
        "SELECT pg_ls_dir('/')",
        "COPY login_t FROM '/etc/hostname'",
        "COPY login_t TO '/tmp/sparkify-login-test'",
        "COPY login_t FROM PROGRAM 'id'",
        f"SET ROLE {ADMIN_ROLE}",
        f"SET ROLE {METADATA_ROLE}",
        "CREATE DATABASE login_test_db",
        "CREATE ROLE login_test_role",
        f"ALTER ROLE {ADMIN_ROLE} PASSWORD 'x'",
        "SET session_replication_role = replica",  # would turn the quota's event trigger off
        "ALTER EVENT TRIGGER redshift_emulator_table_quota DISABLE",
        "UPDATE redshift_emulator.table_quota SET max_tables = 1000000",
    ],
)
def test_what_a_redshift_user_cannot_do_fails_for_the_client(db, table, statement):
    """The client's powers end at its database: no server files or programs, no other role or database."""
    with pytest.raises(psycopg.Error):
        db.execute(statement)
    assert not os.path.exists("/tmp/sparkify-login-test")


def test_the_client_login_has_no_attribute_or_role_beyond_a_users(stack, backend):
    row = backend.execute(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = %s",
        (stack.warehouse_user,),
    ).fetchone()
    assert row == (False, False, False, False, False)
    for role in SERVER_FILE_ROLES:
        member = backend.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (stack.warehouse_user, role)).fetchone()
        assert member == (False,), role
    owner = backend.execute(
        "SELECT pg_get_userbyid(d.datdba), pg_get_userbyid(n.nspowner) FROM pg_database d, pg_namespace n "
        "WHERE d.datname = current_database() AND n.nspname = 'public'"
    ).fetchone()
    assert owner == (stack.warehouse_user, stack.warehouse_user)
    # the superuser is the private one, and the client is not it
    assert backend.execute("SELECT rolname FROM pg_roles WHERE rolsuper").fetchall() == [(ADMIN_ROLE,)]


def test_the_client_cannot_open_another_database_nor_log_in_as_another_role(stack):
    warehouse = WarehouseServer(stack)
    metadata = f"airflow_login_{uuid.uuid4().hex[:8]}"
    warehouse.ensure_metadata_database(metadata)
    try:
        for database in ("postgres", "template1", metadata):
            with pytest.raises(psycopg.OperationalError, match="permission denied|not currently accepting"):
                client(stack, dbname=database).close()
        # the metadata role itself may: Airflow connects so, over the private socket
        with psycopg.connect(warehouse.backend_dsn(metadata, user=METADATA_ROLE), autocommit=True) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (METADATA_ROLE,)
        # ... and not to the client's database
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(warehouse.backend_dsn(user=METADATA_ROLE)).close()
        for role in (ADMIN_ROLE, METADATA_ROLE):  # no password: the emulator lets nobody log in as them
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                client(stack, user=role, password="a-guess").close()
    finally:
        with psycopg.connect(warehouse.backend_dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(metadata)))


def test_the_client_still_does_what_the_pipeline_needs(db, s3, table):
    """CREATE TABLE, COPY from S3, TRUNCATE and DELETE, temporary tables and the system views."""
    body = "".join(json.dumps({"line": f"row {n}"}) + "\n" for n in range(3))
    put_objects(s3, BUCKET, {"rows/a.json": body})
    db.execute(f"COPY {table} FROM 's3://{BUCKET}/rows/' {KEYS} FORMAT AS JSON 'auto'")
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (3,)  # noqa: S608 (a fixed name)
    db.execute(f"DELETE FROM {table} WHERE line = 'row 0'")  # noqa: S608
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)  # noqa: S608
    db.execute(f"TRUNCATE {table}")
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)  # noqa: S608
    db.execute("CREATE TEMP TABLE login_temp (n INTEGER)")
    db.execute("CREATE TABLE #login_hash (n INTEGER)")
    db.execute("INSERT INTO login_temp VALUES (1)")
    assert db.execute("SELECT count(*) FROM login_temp").fetchone() == (1,)
    db.execute("CREATE TABLE login_keys (id INTEGER PRIMARY KEY, v INTEGER) DISTSTYLE KEY DISTKEY (id) SORTKEY (id)")
    try:
        db.execute("INSERT INTO login_keys VALUES (1, 1)")
        info = db.execute("SELECT diststyle FROM svv_table_info WHERE \"table\" = 'login_keys'").fetchone()
        assert info == ("KEY(id)",)
        assert db.execute("SELECT count(*) FROM pg_table_def WHERE tablename = 'login_keys'").fetchone() == (2,)
        constraint = db.execute(
            "SELECT constraint_type FROM information_schema.table_constraints WHERE table_name = 'login_keys'"
        ).fetchall()
        assert ("PRIMARY KEY",) in constraint
    finally:
        db.execute("DROP TABLE login_keys")
    for view in ("stl_query", "stl_load_errors", "sys_load_history", "sys_query_history"):
        db.execute(f"SELECT count(*) FROM {view}").fetchone()  # noqa: S608 (a fixed name)
    copies = db.execute("SELECT count(*) FROM sys_load_history WHERE table_name = %s", (table,)).fetchone()
    assert copies[0] >= 1


def test_the_passwords_are_generated_private_and_not_in_git(stack):
    path = stack.passwords_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["warehouse"] == stack.warehouse_password and stored["airflow"] == stack.airflow_password
    assert len(stack.warehouse_password) >= 32 and stack.warehouse_password != stack.airflow_password
    # the same file read again gives the same passwords
    again = load_settings(state_dir=stack.state_dir)
    assert (again.warehouse_password, again.airflow_password) == (stack.warehouse_password, stack.airflow_password)
    # where `make up` keeps it, git ignores it
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".local/passwords.json"], cwd=PROJECT_ROOT, capture_output=True, check=False
    )
    assert ignored.returncode == 0
    text = (PROJECT_ROOT / ".env").read_text()
    values = dotenv_values(PROJECT_ROOT / ".env")
    assert "password" not in json.loads(values["AIRFLOW_CONN_REDSHIFT"])
    assert "SPARKIFY_AIRFLOW_PASSWORD" not in values
    assert stack.warehouse_password not in text and "sparkify-local" not in text


def test_a_warehouse_initialised_the_old_way_is_refused_with_make_clean(tmp_path, monkeypatch):
    """A cluster whose bootstrap superuser is the client login (before this change) cannot be made safe in
    place (the bootstrap superuser keeps SUPERUSER): start() stops it and says `make clean`."""
    settings = load_settings(state_dir=tmp_path / "state", warehouse_port=free_port(), s3_port=free_port())
    old = WarehouseServer(settings)
    monkeypatch.setattr(warehouse_server, "ADMIN_ROLE", settings.warehouse_user)  # how initdb was run before
    old._start_postgres()
    monkeypatch.undo()
    try:
        with pytest.raises(StackError, match=r"older version.*`make clean`"):
            WarehouseServer(settings).start()
        assert not old.postgres_running()  # stopped, so that `make clean` finds nothing running
        assert not old.emulator_running()
    finally:
        old.remove()


def test_the_private_socket_folder_is_closed_to_others(stack):
    info = os.stat(WarehouseServer(stack).socket_dir)
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert (WarehouseServer(stack).socket_dir / f".s.PGSQL.{BACKEND_PORT}").exists()
