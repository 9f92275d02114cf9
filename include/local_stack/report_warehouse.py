"""The warehouse `make report` reads: the `redshift` connection in the environment, else the local stack's.

After `set -a; . ./.env.dwh; set +a` (from `make import-dwh-cfg`), AIRFLOW_CONN_REDSHIFT
names the real cluster, and the report runs there. Only the warehouse connection is
read: never the S3 settings, which a dwh.cfg import does not give a local endpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from local_stack.settings import WAREHOUSE_CONN_VAR, load_warehouse_conn

DEFAULT_PORTS = {"redshift": 5439}


class WarehouseConnError(ValueError):
    """A warehouse connection `make report` cannot use; the message never quotes the password."""


@dataclass(frozen=True)
class ReportWarehouse:
    """Where the report connects, and where that setting came from."""

    host: str
    port: int
    dbname: str | None
    user: str | None
    password: str | None
    sslmode: str
    source: str

    @property
    def where(self) -> str:
        """host:port/db, for messages (no user, no password)."""
        return f"{self.host}:{self.port}/{self.dbname or ''}"

    @property
    def from_environment(self) -> bool:
        return self.source == WAREHOUSE_CONN_VAR

    def connect_args(self) -> dict:
        """Keyword arguments for psycopg.connect."""
        args = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
            "password": self.password,
            "sslmode": self.sslmode,
        }
        return {key: value for key, value in args.items() if value not in (None, "")}


def report_warehouse(environ: Mapping[str, str] = os.environ) -> ReportWarehouse:
    """AIRFLOW_CONN_REDSHIFT when it is set in the environment, else the local stack's (.env)."""
    if environ.get(WAREHOUSE_CONN_VAR):
        return from_connection(parse_connection(environ[WAREHOUSE_CONN_VAR]), WAREHOUSE_CONN_VAR)
    return from_connection(load_warehouse_conn(), "the local stack's .env")


def parse_connection(text: str) -> dict:
    """An Airflow connection given as JSON or as a URI (parsed by Airflow), as a dict of JSON fields."""
    from airflow.sdk import Connection

    is_json = text.lstrip().startswith("{")
    if not is_json and "://" not in text:
        raise WarehouseConnError(f"{WAREHOUSE_CONN_VAR} is neither JSON nor a conn-type://... URI.")
    try:
        conn = (
            Connection.from_json(text, conn_id="redshift") if is_json else Connection.from_uri(text, conn_id="redshift")
        )
    except json.JSONDecodeError as error:
        raise WarehouseConnError(f"{WAREHOUSE_CONN_VAR} is not valid JSON (at character {error.pos}).") from None
    except ValueError:  # not chained: the parser's message may quote the password
        raise WarehouseConnError(f"{WAREHOUSE_CONN_VAR} is not a connection Airflow can read.") from None
    return {
        "conn_type": conn.conn_type,
        "host": conn.host,
        "port": conn.port,
        "login": conn.login,
        "password": conn.password,
        "schema": conn.schema,
        "extra": conn.extra_dejson,
    }


def from_connection(conn: dict, source: str) -> ReportWarehouse:
    """psycopg settings of a `redshift` or `postgres` connection; Redshift speaks the PostgreSQL protocol."""
    if not conn.get("host"):
        raise WarehouseConnError(
            f"The redshift connection from {source} has no host. Create the cluster with the sparkify_infra DAG, "
            f"set [CLUSTER] HOST in dwh.cfg and run `make import-dwh-cfg` again."
        )
    extra = conn.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    return ReportWarehouse(
        host=conn["host"],
        port=int(conn.get("port") or DEFAULT_PORTS.get(str(conn.get("conn_type")), 5432)),
        dbname=conn.get("schema") or None,
        user=conn.get("login") or None,
        password=conn.get("password") or None,
        sslmode=extra.get("sslmode") or "prefer",  # SSL when the server offers it, as Redshift does
        source=source,
    )
