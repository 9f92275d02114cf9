"""Airflow 3.3 as users run it: api-server, scheduler, dag-processor and triggerer on the local stack.

The four components run as background processes tracked by pid files in their
`AIRFLOW_HOME`, with LocalExecutor. Their metadata database is a separate database
(`airflow`) on the local PostgreSQL: the scheduler, its LocalExecutor workers, the
dag-processor, the triggerer and the api-server all write to it at once, which
SQLite (one writer at a time) serialises. The project's DAGs, plugins and
connections come from `StackSettings.environment()`, exactly as for `make run`.

With `executor="celery"` (`make up EXECUTOR=celery`) it also runs a Redis broker and two Celery
workers (local_stack/celery_services.py); the executor chosen is kept in the home (`executor`), so
`make status`, `make down` and `make airflow` follow it without being told again.

The UI login is `SPARKIFY_AIRFLOW_USER` from `.env` with the password generated into the state folder
(settings.py: `.local/passwords.json`, 0600; `SPARKIFY_AIRFLOW_PASSWORD` in the environment wins),
through SimpleAuthManager; the port from `SPARKIFY_AIRFLOW_PORT` (default 8080).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import psutil
from dotenv import dotenv_values

from local_stack.celery_services import (
    BROKER_PASSWORD_FILE,
    WORKER_PREFIX,
    CelerySettings,
    broker_command,
    broker_display_url,
    broker_password,
    broker_url,
    celery_environment,
    new_workdir,
    remove_workdir,
    result_backend_url,
    worker_command,
    worker_hostname,
    write_broker_config,
)
from local_stack.private_files import create_private, read_private, replace_private
from local_stack.processes import StackError, port_is_open, read_pid, spawn, terminate, wait_until
from local_stack.settings import PROJECT_ROOT, StackSettings, load_settings
from local_stack.warehouse_server import BACKEND_PORT, METADATA_ROLE, WarehouseServer

HOST = "127.0.0.1"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# The keys of GET /api/v2/monitor/health for the components that heartbeat through the database.
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
# Stopped in this order: the scheduler first, so that it launches no task while the rest go down.
STOP_ORDER = ("scheduler", "triggerer", "dag-processor", "api-server")
ADMIN_ROLE = "admin"
# How `make up` and `make status` name them; "local" is sparkify.executor.PreloadingLocalExecutor.
EXECUTORS = {
    "local": "PreloadingLocalExecutor, a LocalExecutor that preloads the tasks' libraries",
    "celery": "CeleryExecutor",
}
BROKER = "broker"


@dataclass(frozen=True)
class AirflowPorts:
    """The TCP ports of one Airflow installation. Every one that is listened on is on 127.0.0.1:
    the api-server's (`--host 127.0.0.1`) and, for EXECUTOR=celery, the Redis broker's (`bind`).

    Airflow's log servers (`serve_logs`, started by the scheduler for LocalExecutor, by the
    triggerer and by `airflow celery worker`) bind every interface and have no host setting, so
    no component starts one (`--skip-serve-logs`): on one machine every task and trigger log is
    in the shared logs folder, which the api-server reads itself. Their two ports remain
    Airflow's settings only: the api-server asks them, and is refused, for the log of a task that
    is running or deferred, and shows the local file.
    """

    api: int = 8080
    worker_log_server: int = 8793  # [logging] worker_log_server_port: not listened on
    trigger_log_server: int = 8794  # [logging] trigger_log_server_port: not listened on
    broker: int = 16379  # the Redis broker of EXECUTOR=celery

    def named(self) -> dict[str, int]:
        return {"api-server": self.api}


@dataclass(frozen=True)
class AirflowLogin:
    username: str
    password: str


def load_login(env_file: Path = PROJECT_ROOT / ".env", settings: StackSettings | None = None) -> AirflowLogin:
    """The UI/API login: the user from `.env`, the password generated in the settings' state folder (the
    environment wins for both)."""
    values = {**dotenv_values(env_file), **os.environ}
    settings = settings or load_settings(env_file=env_file)
    return AirflowLogin(values.get("SPARKIFY_AIRFLOW_USER") or "admin", settings.airflow_password)


def default_ports(env_file: Path = PROJECT_ROOT / ".env") -> AirflowPorts:
    """Ports from `.env` or the environment: SPARKIFY_AIRFLOW_PORT and the two log servers' ports."""
    values = {**dotenv_values(env_file), **os.environ}
    defaults = AirflowPorts()
    return AirflowPorts(
        api=int(values.get("SPARKIFY_AIRFLOW_PORT") or defaults.api),
        worker_log_server=int(values.get("SPARKIFY_AIRFLOW_TASK_LOG_PORT") or defaults.worker_log_server),
        trigger_log_server=int(values.get("SPARKIFY_AIRFLOW_TRIGGER_LOG_PORT") or defaults.trigger_log_server),
        broker=int(values.get("SPARKIFY_AIRFLOW_BROKER_PORT") or defaults.broker),
    )


@dataclass
class AirflowServices:
    """One Airflow installation: its home, ports, login, metadata database and processes.

    `extra_env` adds or overrides Airflow settings (for example
    `AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False` in tests, so that only the runs a test
    creates are scheduled).
    """

    settings: StackSettings
    home: Path = None  # type: ignore[assignment]  # None: settings.state_dir / "airflow-services"
    ports: AirflowPorts = field(default_factory=default_ports)
    login: AirflowLogin = None  # type: ignore[assignment]  # None: the login of the settings' state folder
    metadata_db: str = "airflow"
    parallelism: int = 8
    extra_env: dict[str, str] = field(default_factory=dict)
    executor: str | None = None  # "local" or "celery"; None: the one it was started with, else local
    celery: CelerySettings = field(default_factory=CelerySettings)

    def __post_init__(self) -> None:
        self.home = Path(self.home or self.settings.state_dir / "airflow-services").resolve()
        self.login = self.login or load_login(settings=self.settings)
        if self.executor is None:
            marker = self.home / "executor"
            self.executor = marker.read_text().strip() if marker.exists() else "local"
        if self.executor not in EXECUTORS:
            raise StackError(f"EXECUTOR must be one of {', '.join(EXECUTORS)}, not {self.executor!r}.")

    @property
    def components(self) -> tuple[str, ...]:
        """Airflow's components, and for celery the broker and the workers."""
        if self.executor == "celery":
            return (*COMPONENTS, BROKER, *self.celery.worker_names())
        return COMPONENTS

    # -- addresses ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.ports.api}"

    def pid_file(self, component: str) -> Path:
        return self.home / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.home / f"{component}.log"

    def celery_result_backend(self) -> str:
        warehouse = WarehouseServer(self.settings)
        return result_backend_url(METADATA_ROLE, self.metadata_db, warehouse.socket_dir, BACKEND_PORT)

    def metadata_url(self) -> str:
        """The metadata database on the warehouse's PostgreSQL, over its private socket (not through
        the Redshift emulator: in production, Airflow's metadata never lives in Redshift)."""
        warehouse = WarehouseServer(self.settings)
        return (
            f"postgresql+psycopg2://{quote(METADATA_ROLE, safe='')}@/{self.metadata_db}"
            f"?host={quote(str(warehouse.socket_dir), safe='/')}&port={BACKEND_PORT}"
        )

    def environment(self) -> dict[str, str]:
        """The variables every component and CLI call of this installation runs with."""
        keys = self._secrets()
        return {
            **self.settings.environment(),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url(),
            "AIRFLOW__CORE__EXECUTOR": PRELOADING_LOCAL_EXECUTOR,  # LocalExecutor, task libraries imported once
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOST}:{self.ports.api}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager."
            "SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.login.username}:{ADMIN_ROLE}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(self.ports.api),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": keys["api_secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports.worker_log_server),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.ports.trigger_log_server),
            # sparkify_etl's begin writes the run's note through the REST API (plugins/sparkify/run_note.py)
            "AIRFLOW_CONN_AIRFLOW_API": json.dumps(
                {
                    "conn_type": "http",
                    "host": f"http://{HOST}:{self.ports.api}",
                    "login": self.login.username,
                    "password": self.login.password,
                }
            ),
            **(
                celery_environment(
                    self.celery, self.ports.broker, broker_password(self.home), self.celery_result_backend()
                )
                if self.executor == "celery"
                else {}
            ),
            **self.extra_env,
        }

    def worker_environment(self, component: str, workdir: Path) -> dict[str, str]:
        """A Celery worker's variables: its own hostname (local_stack.worker_identity) and temporary folder."""
        return {
            **self.environment(),
            "SPARKIFY_WORKER_HOSTNAME": worker_hostname(component),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "local_stack.worker_identity.worker_hostname",
            "TMPDIR": str(workdir),
        }

    # -- lifecycle ---------------------------------------------------------------
    def running(self) -> dict[str, int | None]:
        """Each component's pid, or None when it is not running."""
        return {name: read_pid(self.pid_file(name)) for name in self.components}

    def is_running(self) -> bool:
        return all(pid is not None for pid in self.running().values())

    def start(self, timeout: float = 300, wait_for_dags: Sequence[str] = ("sparkify_etl",)) -> bool:
        """Start the components that are not running and wait until Airflow is healthy.

        Returns False when everything was already running. Raises StackError when a
        port is taken, the warehouse is down, or Airflow does not become healthy.
        """
        running = self.running()
        missing = [name for name in self.components if running[name] is None]
        if not missing:
            return False
        self._check_executor()
        self._check_ports(missing)
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "executor").write_text(f"{self.executor}\n")
        if BROKER in missing:  # first: the scheduler and the workers connect to it at start-up
            (self.home / "broker-data").mkdir(exist_ok=True)
            config = write_broker_config(self.home, broker_password(self.home))
            spawn(
                broker_command(self.ports.broker, self.home / "broker-data", config),
                self.pid_file(BROKER),
                self.log_file(BROKER),
            )
            wait_until(lambda: port_is_open(HOST, self.ports.broker), 30, "The Redis broker", self.log_file(BROKER))
        self._prepare()
        env = {**os.environ, **self.environment()}
        for name in missing:
            if name == BROKER:
                continue
            if name.startswith(WORKER_PREFIX):
                remove_workdir(self.home, name)  # a folder left by a worker that was killed
                workdir = new_workdir(self.home, name)
                spawn(
                    worker_command(sys.executable, name, self.home, self.celery.concurrency),
                    self.pid_file(name),
                    self.log_file(name),
                    env={**os.environ, **self.worker_environment(name, workdir)},
                    cwd=workdir,
                )
                continue
            command = [_airflow_executable(), name]
            if name == "api-server":
                command += ["--host", HOST, "--port", str(self.ports.api), "--workers", "1"]
            if name in ("scheduler", "triggerer"):
                command.append("--skip-serve-logs")  # its log server would bind every interface (AirflowPorts)
            spawn(command, self.pid_file(name), self.log_file(name), env=env)
        self.wait_until_healthy(timeout)
        self.ensure_variables()
        if self.executor == "celery":
            self.wait_for_workers(timeout)
        if wait_for_dags:
            self.api().wait_for_dags(wait_for_dags, timeout=timeout)
        return True

    def stop(self) -> list[str]:
        """Stop every component, and any task process left behind; returns the ones that were running."""
        stopped = []
        workers = (
            sorted(
                p.name.removesuffix(".pid")
                for p in self.home.glob(f"{WORKER_PREFIX}*.pid")
                if not p.name.endswith(".airflow.pid")
            )
            if self.home.exists()
            else []
        )
        # The scheduler first (it launches nothing more), then the workers (a warm shutdown: each
        # finishes or gives back its tasks), the rest, and the broker last.
        for name in (STOP_ORDER[0], *workers, *STOP_ORDER[1:], BROKER):
            pid = read_pid(self.pid_file(name))
            descendants = _descendants(pid) if pid else []
            if terminate(self.pid_file(name), timeout=60 if name.startswith(WORKER_PREFIX) else 20):
                stopped.append(name)
            _terminate_pids(descendants)
            if name.startswith(WORKER_PREFIX):
                remove_workdir(self.home, name)
                (self.home / f"{name}.airflow.pid").unlink(missing_ok=True)
        if self.home.exists():
            (self.home / "executor").unlink(missing_ok=True)  # the next `make up` is LocalExecutor unless told
        return stopped

    def wait_for_workers(self, timeout: float = 300) -> None:
        """Wait until every Celery worker answers a ping through the broker."""
        deadline = time.monotonic() + timeout
        expected = {worker_hostname(name) for name in self.celery.worker_names()}
        answered: set[str] = set()
        while time.monotonic() < deadline:
            dead = [name for name, pid in self.running().items() if pid is None]
            if dead:
                raise StackError(f"{', '.join(dead)} exited during start-up.\n{self._log_tails(dead)}")
            answered = set(self.ping_workers())
            if expected <= answered:
                return
            time.sleep(1)
        raise StackError(
            f"The Celery workers {', '.join(sorted(expected - answered))} did not answer within "
            f"{timeout:.0f}s.\n{self._log_tails(self.celery.worker_names())}"
        )

    def ping_workers(self, timeout: float = 2.0) -> dict[str, str]:
        """{worker hostname: Celery node name} of the workers that answer a ping through the broker."""
        if not port_is_open(HOST, self.ports.broker):
            return {}
        from celery import Celery

        app = Celery(broker=broker_url(self.ports.broker, broker_password(self.home)))
        try:
            replies = app.control.ping(timeout=timeout)
        finally:
            app.close()
        nodes = [node for reply in replies for node in reply]
        return {node.split("@", 1)[0]: node for node in nodes}

    def wait_until_healthy(self, timeout: float = 300) -> None:
        """Wait until the api-server answers and every other component heartbeats."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            dead = [name for name, pid in self.running().items() if pid is None]
            if dead:
                raise StackError(f"Airflow {', '.join(dead)} exited during start-up.\n{self._log_tails(dead)}")
            try:
                health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                states = {name: (health.get(key) or {}).get("status") for name, key in HEALTH_KEYS.items()}
                if health.get("metadatabase", {}).get("status") == "healthy" and all(
                    state == "healthy" for state in states.values()
                ):
                    return
                last = json.dumps(states)
            except (httpx.HTTPError, ValueError) as error:
                last = f"{type(error).__name__}: {error}"
            time.sleep(0.5)
        raise StackError(
            f"Airflow did not become healthy within {timeout:.0f}s (last: {last}).\n{self._log_tails(COMPONENTS)}"
        )

    # -- use ---------------------------------------------------------------------
    def airflow(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        """Run the `airflow` CLI against this installation; raises on failure when `check`."""
        result = subprocess.run(
            [_airflow_executable(), *args],
            env={**os.environ, **self.environment()},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise StackError(
                f"airflow {' '.join(args)} exited with {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def run_cli(self, arguments: Sequence[str]) -> int:
        """The `airflow` CLI in the foreground (output to our terminal); returns its exit status."""
        return subprocess.call([_airflow_executable(), *arguments], env={**os.environ, **self.environment()})

    def api(self) -> AirflowApi:
        return AirflowApi(self.base_url, self.login)

    def task_logs(self, limit: int = 6000) -> str:
        """The end of every task log under this home's logs/ folder, for failure messages."""
        parts = []
        for path in sorted((self.home / "logs").rglob("*.log")):
            parts.append(f"--- {path.relative_to(self.home)}\n{path.read_text(errors='replace')[-1500:]}")
        return "\n".join(parts)[-limit:]

    # -- internals ---------------------------------------------------------------
    def _check_executor(self) -> None:
        """Refuse to mix executors: components of the other one are still running."""
        other = "local" if self.executor == "celery" else "celery"
        marker = self.home / "executor"
        started = marker.read_text().strip() if marker.exists() else None
        if started == other and any(pid is not None for pid in self.running().values()):
            raise StackError(
                f"Airflow is running with EXECUTOR={other}; `make down` first, then `make up EXECUTOR={self.executor}`."
            )

    def _check_ports(self, missing: Sequence[str]) -> None:
        wanted = self.ports.named()
        if BROKER in missing:
            wanted["Redis broker"] = self.ports.broker
        if "api-server" not in missing:
            wanted.pop("api-server")
        hints = {
            "api-server": "SPARKIFY_AIRFLOW_PORT",
            "Redis broker": "SPARKIFY_AIRFLOW_BROKER_PORT",
        }
        for what, port in wanted.items():
            if port_is_open(HOST, port):
                hint = f"{hints[what]}=<port>"
                raise StackError(
                    f"Port {port} (Airflow {what}) is already in use by another process, so Airflow cannot "
                    f"start. Stop that process or choose another port: {hint}."
                )

    def _prepare(self) -> None:
        """Folders, the login file, the metadata database and its schema."""
        self.home.mkdir(parents=True, exist_ok=True)
        replace_private(self.home / "passwords.json", json.dumps({self.login.username: self.login.password}) + "\n")
        warehouse = WarehouseServer(self.settings)
        if not warehouse.is_running():
            raise StackError(
                "The local warehouse is not running, and Airflow keeps its metadata there. "
                "Start it first (`make up` does)."
            )
        warehouse.ensure_metadata_database(self.metadata_db)  # owned by METADATA_ROLE, closed to the others
        self.airflow("db", "migrate", timeout=600)
        self.ensure_pools()
        compile_dag_files(self.environment().get("AIRFLOW__CORE__DAGS_FOLDER"))

    def ensure_pools(self) -> list[str]:
        """Create the project's pools that are missing; returns those created.

        A pool resized in the UI keeps its size."""
        existing = pool_names(self.airflow("pools", "list", "--output", "json").stdout)
        created = []
        for name, slots, description in project_pools():
            if name not in existing:
                self.airflow("pools", "set", name, str(slots), description)
                created.append(name)
        return created

    def ensure_variables(self) -> list[str]:
        """Create the local stack's Airflow Variables that are missing (local_variables); returns those created.

        A Variable changed in the UI (Admin → Variables) keeps its value."""
        api, created = self.api(), []
        for key, value, description in local_variables():
            found = api.request("GET", f"/api/v2/variables/{quote(key, safe='')}")
            if found.status_code == 200:
                continue
            if found.status_code != 404:
                raise StackError(f"Reading the Variable {key} answered {found.status_code}: {found.text[:500]}")
            response = api.request(
                "POST", "/api/v2/variables", json={"key": key, "value": value, "description": description}
            )
            if response.status_code >= 400:
                raise StackError(f"Creating the Variable {key} answered {response.status_code}: {response.text[:500]}")
            created.append(key)
        return created

    def _secrets(self) -> dict[str, str]:
        """Keys that every component must share, made once per home and kept there.

        The file is created 0600 with O_EXCL|O_NOFOLLOW, and read without following a symlink.
        """
        path = self.home / "secrets.json"
        if os.path.lexists(path):
            return json.loads(read_private(path))
        from cryptography.fernet import Fernet

        keys = {
            "fernet_key": Fernet.generate_key().decode(),
            "jwt_secret": secrets.token_urlsafe(48),
            "api_secret_key": secrets.token_urlsafe(32),
        }
        self.home.mkdir(parents=True, exist_ok=True)
        create_private(path, json.dumps(keys))
        return keys

    def _log_tails(self, components: Sequence[str]) -> str:
        tails = []
        for name in components:
            log = self.log_file(name)
            text = log.read_text(errors="replace")[-1500:] if log.exists() else "(no log)"
            tails.append(f"--- {log}\n{text}")
        return "\n".join(tails)


class AirflowApi:
    """A small client of Airflow's REST API (v2), authenticated with a token from /auth/token."""

    def __init__(self, base_url: str, login: AirflowLogin) -> None:
        self.base_url = base_url
        self.login = login
        self._token: str | None = None

    def token(self) -> str:
        response = httpx.post(
            f"{self.base_url}/auth/token",
            timeout=30,
            json={"username": self.login.username, "password": self.login.password},
        )
        if response.status_code != 201:
            raise StackError(f"POST /auth/token answered {response.status_code}: {response.text[:500]}")
        return response.json()["access_token"]

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        for attempt in range(2):
            if self._token is None:
                self._token = self.token()
            headers = {"Authorization": f"Bearer {self._token}"}
            response = httpx.request(method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs)
            if response.status_code not in (401, 403) or attempt:
                return response
            self._token = None  # expired or invalid (a long backfill outlives a token): take a new one once
        return response

    def get(self, path: str, **kwargs) -> dict:
        response = self.request("GET", path, **kwargs)
        response.raise_for_status()
        return response.json()

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused}).raise_for_status()

    def trigger(self, dag_id: str, logical_date: str | None, conf: dict | None = None) -> dict:
        response = self.request(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": logical_date, "conf": conf or {}}
        )
        if response.status_code >= 400:
            raise StackError(f"Triggering {dag_id} answered {response.status_code}: {response.text[:1000]}")
        return response.json()

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600, fail_fast: bool = True) -> dict:
        """Poll a DAG run until it succeeds or fails; returns its final JSON.

        With `fail_fast`, a task that fails or waits for a retry ends the wait at once with
        its error, instead of waiting out the DAG's retries.
        """
        deadline = time.monotonic() + timeout
        run: dict = {}
        while time.monotonic() < deadline:
            run = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
            if run["state"] in ("success", "failed"):
                return run
            if fail_fast:
                broken = [ti for ti in self.task_instances(dag_id, run_id) if ti["state"] in ("failed", "up_for_retry")]
                if broken:
                    raise StackError(
                        f"{dag_id} run {run_id}: "
                        + "\n".join(f"task {ti['task_id']} is {ti['state']}: {self.task_error(ti)}" for ti in broken)
                    )
            time.sleep(1)
        raise StackError(f"{dag_id} run {run_id} is still {run.get('state')} after {timeout:.0f}s.")

    def wait_for_dags(self, dag_ids: Sequence[str], timeout: float = 300) -> list[dict]:
        """Wait until the dag-processor has parsed `dag_ids`; returns the import errors of other files.

        An import error while one of `dag_ids` is still missing ends the wait at once.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            errors = self.get("/api/v2/importErrors").get("import_errors", [])
            found = {d["dag_id"] for d in self.get("/api/v2/dags", params={"limit": 100}).get("dags", [])}
            if set(dag_ids) <= found:
                return errors
            if errors:
                raise StackError(
                    f"Airflow does not list {', '.join(sorted(set(dag_ids) - found))}; "
                    f"DAG import errors:\n{describe_import_errors(errors)}"
                )
            time.sleep(1)
        raise StackError(f"Airflow did not list {', '.join(dag_ids)} within {timeout:.0f}s.")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return self.get(path).get("task_instances", [])

    def task_error(self, ti: dict) -> str:
        """The error events of a task instance's latest try, read from its log."""
        path = (
            f"/api/v2/dags/{ti['dag_id']}/dagRuns/{quote(ti['dag_run_id'], safe='')}/taskInstances/"
            f"{ti['task_id']}/logs/{max(ti['try_number'], 1)}"
        )
        try:
            content = self.get(path, params={"full_content": "true"}).get("content", [])
        except httpx.HTTPError as error:
            return f"(log unavailable: {error})"
        lines = []
        for event in content if isinstance(content, list) else []:
            if isinstance(event, dict) and event.get("level") in ("error", "critical"):
                details = "; ".join(
                    f"{d.get('exc_type')}: {d.get('exc_value')}" for d in event.get("error_detail") or []
                )
                lines.append(f"{event.get('event')} {details}".strip())
        return "\n".join(lines)[-3000:] or "(no error in the log)"


PRELOADING_LOCAL_EXECUTOR = "sparkify.executor.PreloadingLocalExecutor"  # plugins/sparkify/executor.py


def project_pools() -> list[tuple[str, int, str]]:
    """(name, slots, description) of every pool the DAGs use (plugins/sparkify/pools.py)."""
    from sparkify.pools import WAREHOUSE_POOL, WAREHOUSE_POOL_DESCRIPTION, WAREHOUSE_POOL_SLOTS

    return [(WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS, WAREHOUSE_POOL_DESCRIPTION)]


def local_variables() -> list[tuple[str, str, str]]:
    """(key, value, description) of the Airflow Variables the local stack sets, unlike an AWS deployment."""
    from sparkify.late_data import DATA_COMPLETE_VARIABLE

    return [
        (
            DATA_COMPLETE_VARIABLE,
            "true",
            "Set by the local stack: its bucket holds fixed sample data and receives no new files, so a run whose "
            "day file is missing (an hour after the sample's last day) fails at once with the bucket's newest day "
            "file instead of waiting sparkify_late_data_timeout. On AWS leave it unset (false).",
        )
    ]


def pool_names(listing: str) -> set[str]:
    """The pool names in the output of `airflow pools list --output json` (a JSON list, maybe after log lines)."""
    lines = [line for line in listing.splitlines() if line.lstrip().startswith("[")]
    return {pool["pool"] for pool in json.loads(lines[-1])} if lines else set()


def describe_import_errors(errors: Sequence[dict]) -> str:
    return "\n".join(f"{e['filename']}: {e['stack_trace'][-1500:]}" for e in errors)


def start_airflow(services: AirflowServices) -> None:
    """`make up`'s Airflow part: start what is not running and say what happened."""
    if services.is_running():
        return
    print(
        f"Starting Airflow on {services.base_url} ({', '.join(services.components)}; "
        f"{EXECUTORS[services.executor or 'local']}) ...",
        flush=True,
    )
    services.start(wait_for_dags=())
    errors = services.api().wait_for_dags(["sparkify_etl"])
    if errors:
        print(f"warning: DAG import errors:\n{describe_import_errors(errors)}", file=sys.stderr)


def print_airflow_status(services: AirflowServices) -> None:
    running = services.running()
    stopped = [name for name, pid in running.items() if pid is None]
    if not stopped:
        state = "running"
    elif len(stopped) == len(running):
        state = "stopped"
    else:
        state = f"partly running (stopped: {', '.join(stopped)}; `make up` starts them)"
    executor = EXECUTORS[services.executor or "local"]
    print(
        f"Airflow 3 (api-server, scheduler, dag-processor, triggerer; {executor}): {state}  "
        f"{services.base_url}  login: {services.login.username} (password: in {services.settings.passwords_file})"
    )
    if services.executor == "celery":
        pid = running[BROKER]
        print(
            f"  Celery broker (Redis, {services.home / 'broker.log'}): "
            f"{'running, pid ' + str(pid) if pid else 'stopped'}  {broker_display_url(services.ports.broker)} "
            f"(password: {services.home / BROKER_PASSWORD_FILE})"
        )
        answering = services.ping_workers() if pid else {}
        for name in services.celery.worker_names():
            hostname = worker_hostname(name)
            pid = running[name]
            state = (
                "stopped"
                if pid is None
                else f"running, pid {pid}, "
                + (f"answers as {answering[hostname]}" if hostname in answering else "not answering the broker")
            )
            print(f"  Celery worker {hostname}: {state}")


def _airflow_executable() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _terminate_pids(processes: Sequence[psutil.Process], timeout: float = 10) -> None:
    """Stop processes we started that outlived their process group (task runners make their own).

    psutil checks each process's start time, so a pid reused by another process is left alone.
    """
    alive = []
    for process in processes:
        try:
            process.terminate()
            alive.append(process)
        except psutil.Error:
            pass
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        alive = [process for process in alive if _alive(process)]
        time.sleep(0.1 if alive else 0)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass


def _alive(process: psutil.Process) -> bool:
    """Running and not a zombie (a zombie whose parent is gone may never be reaped in a container)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def compile_dag_files(folder: str | Path | None) -> bool:
    """Write the bytecode of the DAG files under `folder` (beside them, in `__pycache__`, as Python does).

    Every task process parses its DAG file again. Where Python may not write bytecode (PYTHONDONTWRITEBYTECODE,
    set in many containers) each of them compiles the file anew: about 4 % of a task process's CPU in a
    backfill (py-spy). Python still reads bytecode written here, and ignores it once the file changes."""
    import compileall

    if not folder or not Path(folder).is_dir():
        return False
    return bool(compileall.compile_dir(str(folder), quiet=2, workers=1))  # a broken file: its own import error
