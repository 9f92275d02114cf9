"""The emulator's process: listen on the warehouse address and serve each client in a thread.

`python -m local_stack.redshift --port 5439 --backend-socket-dir <dir> ...`; the password clients
must give comes from the environment (SPARKIFY_REDSHIFT_PASSWORD), never from the command line.
The table quota is the node type's (--node-type, --number-of-nodes; default: the environment's
SPARKIFY_REDSHIFT_NODE_TYPE and SPARKIFY_REDSHIFT_NUMBER_OF_NODES, else dc2.large x 4), or --max-tables.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack.redshift import quota
from local_stack.redshift.catalog import ensure_catalog, set_md5_password
from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.session import Session

PASSWORD_VARIABLE = "SPARKIFY_REDSHIFT_PASSWORD"
DIALECT_VARIABLE = "SPARKIFY_REDSHIFT_DIALECT"  # "off": no dialect translation (benchmarks only)
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
    _clients: dict = field(default_factory=dict, repr=False)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def backend_socket(self) -> Path:
        return self.backend_socket_dir / f".s.PGSQL.{self.backend_port}"

    def s3_client(self, command: CopyCommand) -> Any:
        """An S3 client with the COPY's keys, or the emulator's own for IAM_ROLE (no role can be assumed here)."""
        import boto3
        from botocore.config import Config

        creds = command.credentials
        region = command.options.region or self.s3_region
        key = (creds.access_key, creds.secret_key, creds.token, region)
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
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
            return client


def serve(config: EmulatorConfig, host: str, port: int, database: str) -> None:
    import psycopg

    with psycopg.connect(
        host=str(config.backend_socket_dir),
        port=config.backend_port,
        user=config.backend_user,
        dbname=database,
        autocommit=True,
    ) as conn:
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
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=Session(client, config).run, name="session", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.redshift", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5439)
    parser.add_argument("--database", default="dev")
    parser.add_argument("--user", default="awsuser")
    parser.add_argument("--backend-socket-dir", type=Path, required=True)
    parser.add_argument("--backend-port", type=int, default=5432)
    parser.add_argument("--backend-user", default="awsuser")
    parser.add_argument("--s3-endpoint")
    parser.add_argument("--s3-region", default="us-west-2")
    parser.add_argument("--statement-log", type=Path, help="log every statement (credentials masked) here")
    parser.add_argument("--node-type", help=f"the node type whose table quota to enforce (${quota.NODE_TYPE_VARIABLE})")
    parser.add_argument("--number-of-nodes", help=f"the cluster's nodes (${quota.NUMBER_OF_NODES_VARIABLE})")
    parser.add_argument("--max-tables", help=f"a table quota instead of the node type's (${quota.MAX_TABLES_VARIABLE})")
    args = parser.parse_args(argv)
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
        handler = logging.handlers.RotatingFileHandler(args.statement_log, maxBytes=20 << 20, backupCount=2)
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
    )
    serve(config, args.host, args.port, args.database)
