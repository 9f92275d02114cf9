"""The emulator's process: listen on the warehouse address and serve each client in a thread.

`python -m local_stack.redshift --port 5439 --backend-socket-dir <dir> ...`; the password clients
must give comes from the environment (SPARKIFY_REDSHIFT_PASSWORD), never from the command line.
The table quota is the node type's (--node-type, --number-of-nodes; default: the environment's
SPARKIFY_REDSHIFT_NODE_TYPE and SPARKIFY_REDSHIFT_NUMBER_OF_NODES, else dc2.large x 4), or --max-tables.
Limits (docs/redshift-emulator.md, "Limits"): SPARKIFY_REDSHIFT_MAX_SESSIONS concurrent sessions (100),
SPARKIFY_REDSHIFT_AUTH_TIMEOUT seconds to authenticate (30). A COPY's IAM_ROLE is served with the
emulator's own keys only if SPARKIFY_REDSHIFT_ALLOW_ANY_ROLE is on (`make up` turns it on) or the role is
one of SPARKIFY_REDSHIFT_IAM_ROLES (ARNs, comma-separated).
Clients log in as --user, which start-up makes a login like a Redshift user's (catalog.secure_client_login);
the side connections use --backend-user, a superuser that only the private socket reaches.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import signal
import socket
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack.private_files import PrivateRotatingFileHandler
from local_stack.redshift import quota, wire
from local_stack.redshift.catalog import ensure_catalog, secure_client_login, set_md5_password
from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.s3copy.errors import CopyError
from local_stack.redshift.session import Session

PASSWORD_VARIABLE = "SPARKIFY_REDSHIFT_PASSWORD"
DIALECT_VARIABLE = "SPARKIFY_REDSHIFT_DIALECT"  # "off": no dialect translation (benchmarks only)
MAX_SESSIONS_VARIABLE = "SPARKIFY_REDSHIFT_MAX_SESSIONS"
AUTH_TIMEOUT_VARIABLE = "SPARKIFY_REDSHIFT_AUTH_TIMEOUT"
ALLOW_ANY_ROLE_VARIABLE = "SPARKIFY_REDSHIFT_ALLOW_ANY_ROLE"
IAM_ROLES_VARIABLE = "SPARKIFY_REDSHIFT_IAM_ROLES"
# The private superuser of the side connections: on the private socket only, with no password, so that no
# client can authenticate as it. Clients log in as --user, which start-up makes a login like a Redshift user's.
DEFAULT_BACKEND_USER = "sparkify_admin"
S3_CLIENT_CACHE_SIZE = 32  # distinct key sets (and regions) whose S3 clients are kept, least recently used out
REFUSAL_TIMEOUT = 5.0  # seconds a refused client has to send its start-up packet and read the error
log = logging.getLogger("local_stack.redshift")


@dataclass
class EmulatorConfig:
    """What the emulator serves, where its PostgreSQL is, and how it reaches S3."""

    user: str
    password: str
    backend_socket_dir: Path
    backend_port: int
    backend_user: str
    s3_endpoint: str | None = None
    s3_region: str = "us-west-2"
    # False only to measure what the dialect layer costs (SPARKIFY_REDSHIFT_DIALECT=off, `make bench`):
    # statements then reach PostgreSQL as sent, but for COPY and the DDL rewrite.
    dialect: bool = True
    statement_log: logging.Logger = field(default_factory=lambda: logging.getLogger("local_stack.redshift.statements"))
    max_sessions: int = 100  # concurrent client connections, authenticated or not
    auth_timeout: float = 30.0  # seconds from accept until authentication completes
    allow_any_role: bool = False  # serve any IAM_ROLE with the emulator's keys (`make up` turns it on)
    iam_roles: frozenset[str] = frozenset()  # the roles served with the emulator's keys when not allow_any_role
    session_user: threading.local = field(default_factory=threading.local, repr=False)  # set by each session
    _clients: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def backend_socket(self) -> Path:
        return self.backend_socket_dir / f".s.PGSQL.{self.backend_port}"

    def s3_client(self, command: CopyCommand) -> Any:
        """An S3 client with the COPY's keys, or the emulator's own for an IAM_ROLE it may serve (no role
        can be assumed here); CopyError naming the role for any other. The last S3_CLIENT_CACHE_SIZE are kept."""
        import boto3
        from botocore.config import Config

        creds = command.credentials
        if creds.role_arn and not (self.allow_any_role or creds.role_arn in self.iam_roles):
            raise CopyError(self.role_refusal(creds.role_arn, command.options.region or self.s3_region))
        region = command.options.region or self.s3_region
        key = (creds.access_key, creds.secret_key, creds.token, region)
        with self._clients_lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
            else:
                client = boto3.client(
                    "s3",
                    endpoint_url=self.s3_endpoint,
                    region_name=region,
                    aws_access_key_id=creds.access_key,
                    aws_secret_access_key=creds.secret_key,
                    aws_session_token=creds.token,
                    config=Config(
                        retries={"max_attempts": 3},
                        max_pool_connections=32,
                        s3={"addressing_style": "path"} if self.s3_endpoint else None,
                    ),
                )
                self._clients[key] = client
                while len(self._clients) > S3_CLIENT_CACHE_SIZE:
                    self._clients.popitem(last=False)
            return client

    def role_refusal(self, role_arn: str, region: str) -> str:
        """Redshift's message for a role the cluster cannot assume: it names the database user (as the
        user's ARN, here with the cluster "local" and the role's account) and the role."""
        parts = role_arn.split(":")
        account = parts[4] if len(parts) > 4 and parts[4] else "000000000000"
        user = getattr(self.session_user, "name", None) or self.user
        user_arn = f"arn:aws:redshift:{region}:{account}:dbuser:local/{user}"
        return f"User {user_arn} is not authorized to assume IAM Role {role_arn}"


def serve(config: EmulatorConfig, host: str, port: int, database: str) -> None:
    import psycopg

    with psycopg.connect(
        host=str(config.backend_socket_dir),
        port=config.backend_port,
        user=config.backend_user,
        dbname=database,
        autocommit=True,
    ) as conn:
        secure_client_login(conn, config.user, database)
        set_md5_password(conn, config.user, config.password)
        ensure_catalog(conn, database)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)

    def stop(*_: object) -> None:
        listener.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    log.info("Redshift emulator listening on %s:%d, PostgreSQL at %s", host, port, config.backend_socket)
    log.info("Table quota: %s", quota.enforced().describe())
    sessions = threading.BoundedSemaphore(config.max_sessions)
    refusals = threading.BoundedSemaphore(config.max_sessions)  # refused clients being answered at once
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if sessions.acquire(blocking=False):
            session = Session(client, config, ended=sessions.release)
            threading.Thread(target=session.run, name="session", daemon=True).start()
        elif refusals.acquire(blocking=False):
            threading.Thread(target=refuse, args=(client, config.max_sessions, refusals), daemon=True).start()
        else:  # too many refusals in flight too: close without a word
            client.close()


def refuse(client: socket.socket, limit: int, refusals: threading.BoundedSemaphore) -> None:
    """Answer a client over the session limit with Redshift's error, after its start-up packet (as PostgreSQL
    does, so that the driver reads the error instead of a reset connection), then close it."""
    try:
        client.settimeout(REFUSAL_TIMEOUT)
        stream = client.makefile("rb")
        while True:
            code = int.from_bytes(wire.read_startup(stream)[:4], "big")
            if code not in (wire.SSL_REQUEST, wire.GSSENC_REQUEST):
                break
            client.sendall(b"N")
        # The wording: https://aws.amazon.com/premiumsupport/knowledge-center/manage-connection-limits-redshift/
        # The SQLSTATE: PostgreSQL's too_many_connections, 53300 (Redshift's own is not documented).
        text = f"connection limit {limit} exceeded for non-bootstrap users"
        client.sendall(wire.error_response(text, "53300", severity="FATAL"))
        client.shutdown(socket.SHUT_WR)
    except OSError as error:
        log.debug("refused client: %s", error)
    finally:
        client.close()
        refusals.release()


def limits_from(environment: Mapping[str, str], parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The session limits and IAM role policy of EmulatorConfig, from SPARKIFY_REDSHIFT_* variables."""
    try:
        max_sessions = int(environment.get(MAX_SESSIONS_VARIABLE) or 100)
        auth_timeout = float(environment.get(AUTH_TIMEOUT_VARIABLE) or 30)
    except ValueError as error:
        parser.error(f"{MAX_SESSIONS_VARIABLE}/{AUTH_TIMEOUT_VARIABLE}: {error}")
    if max_sessions < 1 or not auth_timeout > 0:
        parser.error(f"{MAX_SESSIONS_VARIABLE} must be at least 1 and {AUTH_TIMEOUT_VARIABLE} above 0")
    allow = (environment.get(ALLOW_ANY_ROLE_VARIABLE) or "off").strip().lower()
    if allow not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        parser.error(f"{ALLOW_ANY_ROLE_VARIABLE} must be on or off, not {allow!r}")
    roles = frozenset(r.strip() for r in (environment.get(IAM_ROLES_VARIABLE) or "").split(",") if r.strip())
    return {
        "max_sessions": max_sessions,
        "auth_timeout": auth_timeout,
        "allow_any_role": allow in ("on", "true", "1", "yes"),
        "iam_roles": roles,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.redshift", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5439)
    parser.add_argument("--database", default="dev")
    parser.add_argument("--user", default="awsuser")
    parser.add_argument("--backend-socket-dir", type=Path, required=True)
    parser.add_argument("--backend-port", type=int, default=5432)
    parser.add_argument(
        "--backend-user", default=DEFAULT_BACKEND_USER, help="the private superuser of the side connections"
    )
    parser.add_argument("--s3-endpoint")
    parser.add_argument("--s3-region", default="us-west-2")
    parser.add_argument("--statement-log", type=Path, help="log every statement (credentials masked) here")
    parser.add_argument("--node-type", help=f"the node type whose table quota to enforce (${quota.NODE_TYPE_VARIABLE})")
    parser.add_argument("--number-of-nodes", help=f"the cluster's nodes (${quota.NUMBER_OF_NODES_VARIABLE})")
    parser.add_argument("--max-tables", help=f"a table quota instead of the node type's (${quota.MAX_TABLES_VARIABLE})")
    args = parser.parse_args(argv)
    if args.user == args.backend_user:
        parser.error("--user and --backend-user must differ: clients never log in as the private superuser")
    flags = {
        quota.NODE_TYPE_VARIABLE: args.node_type,
        quota.NUMBER_OF_NODES_VARIABLE: args.number_of_nodes,
        quota.MAX_TABLES_VARIABLE: args.max_tables,
    }
    try:  # a flag wins over the environment
        table_quota = quota.quota_from({**os.environ, **{k: v for k, v in flags.items() if v is not None}})
    except ValueError as error:
        parser.error(str(error))
    quota.configure(table_quota)
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        parser.error(f"set the password clients must give in {PASSWORD_VARIABLE}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    statements = logging.getLogger("local_stack.redshift.statements")
    statements.propagate = False
    if args.statement_log:
        # 0600, every rotated file too: masked statements still name users, tables and buckets
        handler = PrivateRotatingFileHandler(args.statement_log, maxBytes=20 << 20, backupCount=2)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        statements.addHandler(handler)
        statements.setLevel(logging.INFO)
    else:
        statements.setLevel(logging.WARNING)
    config = EmulatorConfig(
        user=args.user,
        password=password,
        backend_socket_dir=args.backend_socket_dir,
        backend_port=args.backend_port,
        backend_user=args.backend_user,
        s3_endpoint=args.s3_endpoint,
        dialect=os.environ.get(DIALECT_VARIABLE, "on").lower() != "off",
        s3_region=args.s3_region,
        statement_log=statements,
        **limits_from(os.environ, parser),
    )
    serve(config, args.host, args.port, args.database)
