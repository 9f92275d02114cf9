"""A private local stack for one benchmark run: PostgreSQL and moto on free ports, in a temp folder.

Like the test fixtures, it never touches the ports or the `.local/` state of `make up`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import boto3
import psycopg
from botocore.config import Config

from local_stack.processes import free_port
from local_stack.s3_server import S3Server
from local_stack.settings import StackSettings, load_settings
from local_stack.warehouse_server import WarehouseServer

BUCKET = "sparkify-bench"
REGION = "us-west-2"


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
        try:
            self.warehouse.start()
            self.s3_server.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.s3_server.stop()
        self.warehouse.remove()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    @property
    def dsn(self) -> str:
        return self.warehouse.dsn()

    def connect(self, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=autocommit)

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
