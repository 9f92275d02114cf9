"""Where the local stack lives and how it is wired, read from `.env` and the environment.

The `AIRFLOW_CONN_*` values in `.env` are the single source of truth for hosts,
ports and credentials. `SPARKIFY_WAREHOUSE_PORT` and `SPARKIFY_S3_PORT` override
the ports; the overridden connections are exported to every process we start.
`SPARKIFY_REDSHIFT_NODE_TYPE` (and `SPARKIFY_REDSHIFT_NUMBER_OF_NODES`, or an explicit
`SPARKIFY_REDSHIFT_MAX_TABLES`) choose the table quota the warehouse enforces.

No password is in `.env`: the warehouse login's and the Airflow UI's are generated on first use
into `<state dir>/passwords.json` (0600, under the git-ignored `.local/`), and read from there.
A password in the environment (AIRFLOW_CONN_REDSHIFT's, SPARKIFY_AIRFLOW_PASSWORD) wins.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from local_stack.private_files import generated_secrets
from local_stack.redshift.quota import TableQuota, quota_from, table_quota

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAREHOUSE_CONN_VAR = "AIRFLOW_CONN_REDSHIFT"
AWS_CONN_VAR = "AIRFLOW_CONN_AWS_DEFAULT"
AIRFLOW_PASSWORD_VAR = "SPARKIFY_AIRFLOW_PASSWORD"
PASSWORDS_FILE = "passwords.json"  # in the state folder: the generated passwords, 0600


class SettingsError(ValueError):
    """A setting the stack cannot run with."""


@dataclass(frozen=True)
class StackSettings:
    """Ports, folders and credentials of one local stack."""

    state_dir: Path
    warehouse_host: str
    warehouse_port: int
    warehouse_db: str
    warehouse_user: str
    warehouse_password: str
    s3_host: str
    s3_port: int
    warehouse_conn: dict
    aws_conn: dict
    table_quota: TableQuota = table_quota()  # the node type's (dc2.large x 4 unless set)
    airflow_password: str = ""  # the Airflow UI's admin password (`make up`)

    @property
    def passwords_file(self) -> Path:
        """Where the generated passwords are kept (0600, git-ignored)."""
        return self.state_dir / PASSWORDS_FILE

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.s3_host}:{self.s3_port}"

    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow"

    @property
    def sample_dir(self) -> Path:
        return self.state_dir / "sample-data"

    def environment(self) -> dict[str, str]:
        """Variables every process of this stack runs with (Airflow config and connections)."""
        return {
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # Task logs only their owner reads (Airflow's defaults are 0o664 and 0o775).
            "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS": "0o600",
            "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS": "0o700",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.airflow_home / 'airflow.db'}",
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT / "include")]),
            WAREHOUSE_CONN_VAR: json.dumps(self.warehouse_conn),
            AWS_CONN_VAR: json.dumps(self.aws_conn),
        }


def load_settings(
    state_dir: Path | None = None,
    warehouse_port: int | None = None,
    s3_port: int | None = None,
    env_file: Path = PROJECT_ROOT / ".env",
) -> StackSettings:
    """Read `.env` (the environment wins), then apply any port overrides; the passwords are the generated ones."""
    values = _values(env_file)
    state = (state_dir or _state_dir(values)).resolve()
    passwords = generated_secrets(state / PASSWORDS_FILE, ("warehouse", "airflow"))
    warehouse = _warehouse_conn(values, warehouse_port, passwords["warehouse"])
    warehouse_port = warehouse["port"]
    aws = json.loads(values[AWS_CONN_VAR])

    endpoint = urlsplit(aws["extra"]["endpoint_url"])
    s3_port = s3_port or int(values.get("SPARKIFY_S3_PORT") or endpoint.port)
    aws = {**aws, "extra": {**aws["extra"], "endpoint_url": f"http://{endpoint.hostname}:{s3_port}"}}

    try:
        quota = quota_from(values)
    except ValueError as error:
        raise SettingsError(str(error)) from None
    return StackSettings(
        state_dir=state,
        warehouse_host=warehouse["host"],
        warehouse_port=warehouse_port,
        warehouse_db=warehouse["schema"],
        warehouse_user=warehouse["login"],
        warehouse_password=warehouse["password"],
        s3_host=endpoint.hostname,
        s3_port=s3_port,
        warehouse_conn=warehouse,
        aws_conn=aws,
        table_quota=quota,
        airflow_password=values.get(AIRFLOW_PASSWORD_VAR) or passwords["airflow"],
    )


def load_warehouse_conn(env_file: Path = PROJECT_ROOT / ".env") -> dict:
    """The local stack's warehouse connection (port override applied, the generated password), without
    reading the S3 settings."""
    values = _values(env_file)
    passwords = generated_secrets(_state_dir(values).resolve() / PASSWORDS_FILE, ("warehouse", "airflow"))
    return _warehouse_conn(values, password=passwords["warehouse"])


def _values(env_file: Path) -> dict:
    return {**dotenv_values(env_file), **os.environ}


def _state_dir(values: dict) -> Path:
    return Path(values.get("SPARKIFY_STATE_DIR") or PROJECT_ROOT / ".local")


def _warehouse_conn(values: dict, warehouse_port: int | None = None, password: str = "") -> dict:
    """`.env`'s connection has no password: the generated one, unless the environment's connection has one."""
    warehouse = json.loads(values[WAREHOUSE_CONN_VAR])
    port = warehouse_port or int(values.get("SPARKIFY_WAREHOUSE_PORT") or warehouse["port"])
    return {**warehouse, "port": port, "password": warehouse.get("password") or password}
