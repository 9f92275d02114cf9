"""A private local stack for one benchmark run: the Redshift emulator (in front of PostgreSQL) and
moto on free ports, in a temp folder.

Like the test fixtures, it never touches the ports or the `.local/` state of `make up`. The
emulator runs in a process of its own; the COPYs of the stage tasks do their work (S3 reads,
JSON parsing, casting) there, so the benchmark can reach that process (`emulator_pid`), its
statement log (`copies_logged`) and the PostgreSQL behind it (`backend_dsn`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import boto3
import psycopg
from botocore.config import Config

from local_stack.processes import free_port, read_pid, terminate
from local_stack.s3_server import S3Server
from local_stack.settings import StackSettings, load_settings
from local_stack.warehouse_server import WarehouseServer

BUCKET = "sparkify-bench"
REGION = "us-west-2"
# Where the stage tasks write their COPY manifests (Variable sparkify_manifest_location): a bucket
# of its own, as in production, where the source bucket may be read-only.
MANIFEST_BUCKET = "sparkify-bench-staging"
MANIFEST_LOCATION = f"s3://{MANIFEST_BUCKET}/manifests/"
# The peers' connection: of type postgres, as a user of the postgres provider writes it, straight to
# the PostgreSQL behind the emulator (see stage_events: the emulator's relay of ordinary SQL is
# not what the peers are compared on).
PEER_CONN_ID = "bench_warehouse_postgres"
# A line of the emulator's statement log for a COPY it ran itself (one from S3, not FROM STDIN).
_COPY_LINE = re.compile(r"pid=\d+ COPY \S+ FROM s3://")


class PrivateStack:
    """Start on enter, stop and delete everything on exit. Exports the stack's Airflow connections."""

    def __init__(self) -> None:
        self.state_dir = Path(tempfile.mkdtemp(prefix="sparkify-bench-"))
        self.state_dir.chmod(0o755)  # PostgreSQL runs as another user when we are root
        self.settings: StackSettings = load_settings(
            state_dir=self.state_dir, warehouse_port=free_port(), s3_port=free_port()
        )
        self.warehouse = WarehouseServer(self.settings)
        self.s3_server = S3Server(self.settings)

    def __enter__(self) -> PrivateStack:
        os.environ.update(self.settings.environment())
        os.environ[f"AIRFLOW_CONN_{PEER_CONN_ID.upper()}"] = json.dumps(self._peer_connection())
        try:
            self.warehouse.start()
            self.s3_server.start()
            self.s3_server.ensure_bucket(MANIFEST_BUCKET, REGION)
        except BaseException:
            self.close()
            raise
        return self

    def _peer_connection(self) -> dict:
        backend = psycopg.conninfo.conninfo_to_dict(self.backend_dsn)
        return {
            "conn_type": "postgres",
            "host": backend["host"],
            "port": int(backend["port"]),
            "login": backend["user"],
            "schema": backend["dbname"],
        }

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.s3_server.stop()
        self.warehouse.remove()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    @property
    def dsn(self) -> str:
        return self.warehouse.dsn()

    @property
    def backend_dsn(self) -> str:
        """The PostgreSQL behind the emulator, over its private socket (what the emulator's COPY writes to)."""
        return self.warehouse.backend_dsn()

    def connect(self, autocommit: bool = True) -> psycopg.Connection:
        """A psycopg connection through the emulator, as any PostgreSQL client of the warehouse connects."""
        return psycopg.connect(self.dsn, autocommit=autocommit)

    def connect_backend(self) -> psycopg.Connection:
        """An autocommit connection to the PostgreSQL behind the emulator, for fixtures that need PostgreSQL's own
        SQL (generate_series over tables, index management), which the emulator refuses as Redshift would."""
        return psycopg.connect(self.backend_dsn, autocommit=True)

    def checkpoint(self) -> None:
        """PostgreSQL's CHECKPOINT, so that a timed load does not pay for the last one's writes (the private
        superuser's: the stack's login may not, and Redshift has no such command)."""
        with self.connect_backend() as conn:
            conn.execute("CHECKPOINT")

    @property
    def emulator_pid(self) -> int:
        pid = read_pid(self.warehouse.pid_file)
        if pid is None:
            raise RuntimeError(f"The Redshift emulator is not running (no live pid in {self.warehouse.pid_file})")
        return pid

    def restart_emulator(self) -> int:
        """A fresh emulator process (PostgreSQL keeps running, with its data); returns its pid."""
        terminate(self.warehouse.pid_file)
        self.warehouse.start()
        return self.emulator_pid

    def forget_staged_copies(self, registry: str = "staged_object_cache") -> None:
        """Drop the warehouse's cached copies of staged objects (sparkify.s3copy.object_cache), so that
        the next stage task COPYs its file again: what a load of a new day file costs."""
        from sparkify.identifiers import quote_identifier, quote_table

        with self.connect() as conn:
            for (name,) in conn.execute(f"SELECT table_name FROM {quote_table(registry)}").fetchall():
                conn.execute(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
            conn.execute(f"DELETE FROM {quote_table(registry)}")

    def statement_log_size(self) -> int:
        """Where the emulator's statement log ends now: give it to `copies_logged` after some work."""
        log = self.warehouse.statement_log
        return log.stat().st_size if log.exists() else 0

    def copies_logged(self, since: int) -> list[str]:
        """The COPYs from S3 that the emulator logged after offset `since` of its statement log."""
        with open(self.warehouse.statement_log, "rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", "replace")
        return [line for line in text.splitlines() if _COPY_LINE.search(line)]

    def s3_client(self, connections: int = 10):
        """A boto3 S3 client for the stack, with a connection pool of `connections`."""
        aws = self.settings.aws_conn
        return boto3.client(
            "s3",
            endpoint_url=self.settings.s3_endpoint,
            region_name=aws["extra"].get("region_name", REGION),
            aws_access_key_id=aws["login"],
            aws_secret_access_key=aws["password"],
            config=Config(retries={"max_attempts": 2}, max_pool_connections=connections),
        )

    def postgres_version(self) -> str:
        with self.connect() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
