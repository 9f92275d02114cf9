"""The emulator's limits, probed with raw sockets: bounded messages before and after authentication, a
timeout until authentication completes, a cap on concurrent sessions, and the IAM_ROLE policy.

The protocol's framing (a start-up packet is an Int32 length and its body; every later message a type byte
and an Int32 length that counts itself): https://www.postgresql.org/docs/current/protocol-message-formats.html
The MD5 answer is "md5" + md5(md5(password + user) + salt):
https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
The limits are the documented ones (docs/redshift-emulator.md, "Limits"), written out here, not imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from local_stack.processes import free_port, port_is_open, read_pid
from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.server import EmulatorConfig
from local_stack.settings import PROJECT_ROOT
from local_stack.warehouse_server import BACKEND_PORT, WarehouseServer
from sparkify.s3copy.spec import Credentials
from tests.support import put_objects

pytestmark = pytest.mark.integration
PYTHONPATH = os.pathsep.join(str(PROJECT_ROOT / folder) for folder in ("include", "plugins"))
TWO_GIB = 2**31 - 1  # the largest length an Int32 can declare
MAX_MESSAGE = 256 * 1024 * 1024  # documented bound after authentication
PRIVATE_SESSIONS = 3
PRIVATE_AUTH_TIMEOUT = 1.5
BUCKET = "sparkify-emulator-limits"
MAPPED_ROLE = "arn:aws:iam::123456789012:role/sparkify-mapped"
UNMAPPED_ROLE = "arn:aws:iam::123456789012:role/someone-elses-role"


# -- the protocol, by hand -----------------------------------------------------------------------
def startup(user: str, database: str) -> bytes:
    body = struct.pack("!i", 3 << 16) + b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
    return struct.pack("!i", len(body) + 4) + body


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    header = recv_exact(sock, 5)
    length = struct.unpack("!i", header[1:])[0]
    return header[:1], recv_exact(sock, length - 4)


def recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def error_fields(body: bytes) -> dict[str, str]:
    return {chr(part[0]): part[1:].decode() for part in body.split(b"\0") if part}


def expect_error(sock: socket.socket) -> dict[str, str]:
    """The next message, which must be an ErrorResponse, then the end of the connection."""
    kind, body = read_message(sock)
    assert kind == b"E", (kind, body)
    assert sock.recv(1) == b""  # the emulator closed the connection
    return error_fields(body)


def connect_raw(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def until_md5_request(sock: socket.socket, settings) -> bytes:
    """Send the start-up packet; the salt of the emulator's MD5 password request."""
    sock.sendall(startup(settings.warehouse_user, settings.warehouse_db))
    kind, body = read_message(sock)
    assert kind == b"R" and struct.unpack("!i", body[:4])[0] == 5, (kind, body)
    return body[4:8]


def authenticate(sock: socket.socket, settings) -> None:
    salt = until_md5_request(sock, settings)
    inner = hashlib.md5((settings.warehouse_password + settings.warehouse_user).encode()).hexdigest()
    answer = b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode() + b"\0"
    sock.sendall(b"p" + struct.pack("!i", len(answer) + 4) + answer)
    while True:
        kind, body = read_message(sock)
        assert kind != b"E", error_fields(body)
        if kind == b"Z":
            return


def vm(pid: int, field: str) -> int:
    """A number from /proc/<pid>/status (VmRSS in kB, Threads)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# -- the test session's emulator ------------------------------------------------------------------
@pytest.fixture
def emulator_pid(stack) -> int:
    pid = read_pid(WarehouseServer(stack).pid_file)
    assert pid is not None
    return pid


def test_a_2_gib_password_message_is_refused_at_once_and_memory_stays_flat(stack, emulator_pid):
    before = vm(emulator_pid, "VmRSS")
    for _ in range(4):
        with connect_raw(stack.warehouse_port) as sock:
            until_md5_request(sock, stack)
            sock.sendall(b"p" + struct.pack("!i", TWO_GIB) + b"x" * 65536)
            started = time.monotonic()
            fields = expect_error(sock)
            assert time.monotonic() - started < 3  # answered without waiting for the body
            assert fields["S"] == "FATAL" and fields["C"] == "08P01", fields
            with contextlib.suppress(OSError):  # the rest of the body has nowhere to go
                sock.sendall(b"x" * (32 << 20))
    assert vm(emulator_pid, "VmRSS") - before < 32 * 1024, "resident memory grew by more than 32 MiB"


def test_a_2_gib_start_up_packet_is_refused_at_once(stack):
    with connect_raw(stack.warehouse_port) as sock:
        sock.sendall(struct.pack("!i", TWO_GIB) + struct.pack("!i", 3 << 16))
        fields = expect_error(sock)
    assert fields["C"] == "08P01" and "startup packet" in fields["M"], fields


def test_a_password_message_over_1_kib_is_refused(stack):
    with connect_raw(stack.warehouse_port) as sock:
        until_md5_request(sock, stack)
        sock.sendall(b"p" + struct.pack("!i", 1025 + 4) + b"x" * 1025)
        assert expect_error(sock)["C"] == "08P01"


def test_after_authentication_a_message_over_256_mib_is_refused_without_reading_it(stack):
    with connect_raw(stack.warehouse_port) as sock:
        authenticate(sock, stack)
        sock.sendall(b"Q" + struct.pack("!i", MAX_MESSAGE + 1) + b"SELECT 1")
        fields = expect_error(sock)
    assert fields["S"] == "FATAL" and fields["C"] == "08P01", fields


def test_a_normal_client_still_works_with_a_large_statement(db):
    literal = "x" * 1_000_000
    assert db.execute(f"SELECT LENGTH('{literal}')").fetchone() == (1_000_000,)


def test_make_up_serves_any_iam_role_with_the_local_keys(stack, db, s3):
    """`make up` turns SPARKIFY_REDSHIFT_ALLOW_ANY_ROLE on: an arbitrary role reads S3 with the stack's keys."""
    put_objects(s3, BUCKET, {"any/a.json": '{"n": 1}\n{"n": 2}\n'})
    db.execute("DROP TABLE IF EXISTS limits_any_role")
    db.execute("CREATE TABLE limits_any_role (n INTEGER)")
    db.execute(f"COPY limits_any_role FROM 's3://{BUCKET}/any/' IAM_ROLE '{UNMAPPED_ROLE}' JSON 'auto'")
    assert db.execute("SELECT count(*) FROM limits_any_role").fetchone() == (2,)


# -- a private emulator with small limits and a strict IAM_ROLE policy -----------------------------
@pytest.fixture(scope="module")
def private(stack) -> Iterator[tuple[int, subprocess.Popen, str]]:
    """An emulator of its own (3 sessions, 1.5 s to authenticate, only MAPPED_ROLE), before a database of its
    own; yields its port, its process and the database."""
    warehouse, port, database = WarehouseServer(stack), free_port(), "emulator_limits"
    with psycopg.connect(warehouse.backend_dsn("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_REDSHIFT_")}
    env |= {
        "SPARKIFY_REDSHIFT_PASSWORD": stack.warehouse_password,
        "SPARKIFY_REDSHIFT_MAX_SESSIONS": str(PRIVATE_SESSIONS),
        "SPARKIFY_REDSHIFT_AUTH_TIMEOUT": str(PRIVATE_AUTH_TIMEOUT),
        "SPARKIFY_REDSHIFT_ALLOW_ANY_ROLE": "off",
        "SPARKIFY_REDSHIFT_IAM_ROLES": MAPPED_ROLE,
        "AWS_ACCESS_KEY_ID": stack.aws_conn.get("login") or "local",
        "AWS_SECRET_ACCESS_KEY": stack.aws_conn.get("password") or "local",
        "PYTHONPATH": PYTHONPATH,
    }
    command = [sys.executable, "-m", "local_stack.redshift", "--port", str(port), "--database", database]
    command += ["--user", stack.warehouse_user]  # the side connections: the private superuser (the default)
    command += ["--backend-socket-dir", str(warehouse.socket_dir), "--backend-port", str(BACKEND_PORT)]
    command += ["--s3-endpoint", stack.s3_endpoint]
    emulator = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: port_is_open("127.0.0.1", port) or emulator.poll() is not None, 30)
        assert emulator.poll() is None, emulator.stderr.read().decode() if emulator.stderr else ""
        yield port, emulator, database
    finally:
        emulator.terminate()
        emulator.wait(10)
        with psycopg.connect(warehouse.backend_dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def private_connect(stack, private) -> psycopg.Connection:
    port, _, database = private
    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        dbname=database,
        user=stack.warehouse_user,
        password=stack.warehouse_password,
        autocommit=True,
        connect_timeout=5,
    )


def retry_connect(stack, private, timeout: float) -> psycopg.Connection:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return private_connect(stack, private)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def hold_slot(stack, private, timeout: float = 5) -> socket.socket:
    """A raw socket that holds one of the private emulator's session slots: it has sent its start-up packet
    and been asked for its password. A slot freed by an earlier test is released when the emulator's session
    thread ends, a moment after the client closed; until then a new socket is refused, so try again."""
    port, _, database = private
    deadline = time.monotonic() + timeout
    while True:
        sock = connect_raw(port)
        sock.sendall(startup(stack.warehouse_user, database))
        kind, body = read_message(sock)
        if kind == b"R":
            return sock
        sock.close()
        assert kind == b"E" and time.monotonic() < deadline, (kind, error_fields(body))
        time.sleep(0.05)


def test_idle_half_open_sockets_are_closed_after_the_authentication_timeout(stack, private):
    _, emulator, _ = private
    threads = vm(emulator.pid, "Threads")
    sockets = [connect_raw(private[0]) for _ in range(PRIVATE_SESSIONS)]
    sockets[1].sendall(struct.pack("!i", 64))  # a start-up packet that never ends
    sockets[2].sendall(startup(stack.warehouse_user, private[2]))  # never answers the password request
    opened = time.monotonic()
    try:
        time.sleep(PRIVATE_AUTH_TIMEOUT / 2)
        assert vm(emulator.pid, "Threads") > threads  # the sessions are still being served
        for sock in sockets:
            sock.settimeout(PRIVATE_AUTH_TIMEOUT + 5)
            while sock.recv(4096):  # the password request, then the end of the connection
                pass
        elapsed = time.monotonic() - opened
        assert PRIVATE_AUTH_TIMEOUT - 0.2 <= elapsed < PRIVATE_AUTH_TIMEOUT + 3, elapsed
        assert wait_for(lambda: vm(emulator.pid, "Threads") <= threads, 5), "session threads outlive their sockets"
    finally:
        for sock in sockets:
            sock.close()


def test_the_session_cap_refuses_one_more_client_with_redshifts_error_and_admits_again(stack, private):
    """Redshift's wording: https://aws.amazon.com/premiumsupport/knowledge-center/manage-connection-limits-redshift/
    ("connection limit 500 exceeded for non-bootstrap users"); SQLSTATE 53300 is PostgreSQL's
    too_many_connections (https://www.postgresql.org/docs/current/errcodes-appendix.html)."""
    sessions = [retry_connect(stack, private, 5) for _ in range(PRIVATE_SESSIONS)]
    try:
        with connect_raw(private[0]) as sock:
            sock.sendall(startup(stack.warehouse_user, private[2]))
            fields = expect_error(sock)
        assert fields["S"] == "FATAL" and fields["C"] == "53300", fields
        assert fields["M"] == f"connection limit {PRIVATE_SESSIONS} exceeded for non-bootstrap users"
        with pytest.raises(psycopg.OperationalError, match="exceeded for non-bootstrap users"):
            private_connect(stack, private)
        for conn in sessions:  # the admitted sessions still work
            assert conn.execute("SELECT 1").fetchone() == (1,)
        sessions.pop().close()
        # the slot is free once the emulator has seen the Terminate: as on PostgreSQL, not at the same instant
        again = retry_connect(stack, private, 5)
        sessions.append(again)
        assert again.execute("SELECT 2").fetchone() == (2,)
    finally:
        for conn in sessions:
            conn.close()


def test_half_open_sockets_hold_their_slots_only_until_the_timeout(stack, private):
    sockets = [hold_slot(stack, private) for _ in range(PRIVATE_SESSIONS)]
    try:
        with pytest.raises(psycopg.OperationalError, match="exceeded for non-bootstrap users"):
            private_connect(stack, private)
        time.sleep(PRIVATE_AUTH_TIMEOUT)
        with retry_connect(stack, private, 3) as conn:
            assert conn.execute("SELECT 3").fetchone() == (3,)
    finally:
        for sock in sockets:
            sock.close()


def test_an_iam_role_the_emulator_cannot_map_is_refused_by_name(stack, private, s3):
    """Redshift's error for a role the cluster cannot assume names the database user's ARN and the role
    ("User arn:aws:redshift:...:dbuser:<cluster>/<user> is not authorized to assume IAM Role <role arn>", as
    clients report it, e.g. https://github.com/fullstorydev/hauser/issues/10), SQLSTATE XX000. A mapped role
    (SPARKIFY_REDSHIFT_IAM_ROLES) loads with the emulator's keys:
    https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-access-permissions.html"""
    put_objects(s3, BUCKET, {"roles/a.json": '{"n": 1}\n{"n": 2}\n{"n": 3}\n'})
    with private_connect(stack, private) as conn:
        conn.execute("DROP TABLE IF EXISTS limits_roles")
        conn.execute("CREATE TABLE limits_roles (n INTEGER)")
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(f"COPY limits_roles FROM 's3://{BUCKET}/roles/' IAM_ROLE '{UNMAPPED_ROLE}' JSON 'auto'")
        assert refused.value.sqlstate == "XX000"
        message = str(refused.value)
        assert f"is not authorized to assume IAM Role {UNMAPPED_ROLE}" in message, message
        assert f":dbuser:local/{stack.warehouse_user} " in message, message
        conn.execute(f"COPY limits_roles FROM 's3://{BUCKET}/roles/' IAM_ROLE '{MAPPED_ROLE}' JSON 'auto'")
        assert conn.execute("SELECT sum(n) FROM limits_roles").fetchone() == (6,)


# -- the S3 client cache ---------------------------------------------------------------------------
def test_the_s3_client_cache_keeps_the_32_most_recently_used():
    config = EmulatorConfig("u", "p", Path("/nonexistent"), 5432, "u", s3_endpoint="http://127.0.0.1:1")

    def copy(n: int) -> CopyCommand:
        return CopyCommand("t", "s3://b/k", credentials=Credentials(access_key=f"key-{n}", secret_key="s"))

    first = config.s3_client(copy(0))
    for n in range(1, 40):
        config.s3_client(copy(n))
        config.s3_client(copy(0))  # used again each time: never the least recently used
    assert len(config._clients) == 32
    kept = {key[0] for key in config._clients}
    assert kept == {"key-0", *(f"key-{n}" for n in range(9, 40))}  # key-1 .. key-8 were the least recently used
    assert config.s3_client(copy(0)) is first
    assert config.s3_client(copy(39)) is config.s3_client(copy(39))
