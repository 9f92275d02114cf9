"""Every socket the local stack listens on is on the loopback interface, and the Celery broker wants a password.

Issue 30, findings 5 and 6. Airflow's log servers (`serve_logs`) bind every interface and have no
host setting, so the stack starts none (`--skip-serve-logs` for the scheduler, the triggerer and
the Celery workers); the api-server reads every task and trigger log from the shared logs folder.
Redis, for EXECUTOR=celery, has a password made once per Airflow home (`broker-password`, 0600),
given to redis-server in a 0600 config file and to Airflow in the broker URL of its environment.

Each test runs a DAG run until its sensor waits deferred in the triggerer (so that a task has run
and a trigger is running), then lists the listening sockets of every process of the stack
(Airflow's components and all their descendants, the Redshift emulator, moto and PostgreSQL)
with psutil, and reads the sensor's log through the REST API, as the UI does.
"""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import psutil
import pytest

from local_stack.airflow_services import BROKER, AirflowServices, print_airflow_status
from local_stack.celery_services import BROKER_CONFIG_FILE, BROKER_PASSWORD_FILE, CelerySettings
from local_stack.processes import read_pid
from local_stack.s3_server import S3Server
from local_stack.warehouse_server import WarehouseServer
from tests.live.conftest import DAG_ID, private_airflow
from tests.live.late_data_support import awaiting_late_data
from tests.support import poll_until

pytestmark = pytest.mark.integration
LOOPBACK = {"127.0.0.1", "::1"}
SENSOR = "wait_for_log_data"


def stack_processes(services: AirflowServices) -> list[psutil.Process]:
    """Airflow's components with all their descendants, the emulator, moto, and PostgreSQL with its children."""
    warehouse = WarehouseServer(services.settings)
    pids = [pid for pid in services.running().values() if pid]
    pids += [pid for pid in (read_pid(warehouse.pid_file), read_pid(S3Server(services.settings).pid_file)) if pid]
    pids.append(int((warehouse.data / "postmaster.pid").read_text().split()[0]))
    processes = [psutil.Process(pid) for pid in pids]
    return processes + [child for process in processes for child in process.children(recursive=True)]


def listening_sockets(processes: list[psutil.Process]) -> dict[tuple[str, int], str]:
    """{(address, port): the process's command line} of every TCP socket listened on."""
    found = {}
    for process in processes:
        try:
            for conn in process.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found[(conn.laddr.ip, conn.laddr.port)] = " ".join(process.cmdline())[:200]
        except psutil.NoSuchProcess:  # a task process that ended meanwhile
            continue
    return found


def assert_all_on_loopback(services: AirflowServices) -> dict[tuple[str, int], str]:
    processes = stack_processes(services)
    assert len(processes) > len(services.components), "the components' children are included"
    found = listening_sockets(processes)
    elsewhere = {address: command for address, command in found.items() if address[0] not in LOOPBACK}
    assert not elsewhere, f"listening beyond the loopback interface: {elsewhere}"
    ports = {port for _, port in found}
    assert services.ports.api in ports and services.settings.warehouse_port in ports, found
    assert not {services.ports.worker_log_server, services.ports.trigger_log_server} & ports, "no log server"
    assert not [c for c in found.values() if "serve-logs" in c], found
    return found


@contextmanager
def deferred_sensor(services: AirflowServices) -> Iterator[dict]:
    """A run for the window that just ended (its day file never comes): its sensor, once deferred."""
    api = services.api()
    with awaiting_late_data(api), _deferred_sensor(api) as sensor:  # the stack's bucket gets no new files
        yield sensor


@contextmanager
def _deferred_sensor(api) -> Iterator[dict]:
    api.set_paused(DAG_ID, False)
    end = datetime.now(timezone.utc).replace(microsecond=0)
    conf = {"window_start": f"{end - timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z", "window_end": f"{end:%Y-%m-%dT%H:%M:%S}Z"}
    run_id = api.trigger(DAG_ID, None, conf=conf)["dag_run_id"]
    try:

        def deferred() -> dict | None:
            sensor = {ti["task_id"]: ti for ti in api.task_instances(DAG_ID, run_id)}.get(SENSOR) or {}
            assert sensor.get("state") not in ("failed", "success", "up_for_retry"), sensor
            return sensor if sensor.get("state") == "deferred" else None

        yield poll_until(deferred, 600, f"{SENSOR} of {run_id} to defer", interval=2, ignoring=(httpx.TransportError,))
    finally:
        api.request("PATCH", f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}", json={"state": "failed"})
        api.set_paused(DAG_ID, True)


def assert_log_is_shown(services: AirflowServices, sensor: dict) -> None:
    """The REST API (the UI's source) shows the deferred sensor's log, read from the shared logs folder."""
    path = (
        f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(sensor['dag_run_id'], safe='')}/taskInstances/{SENSOR}"
        f"/logs/{max(sensor['try_number'], 1)}"
    )
    content = services.api().get(path, params={"full_content": "true"})["content"]
    events = [event.get("event", "") for event in content if isinstance(event, dict)]
    end = events.index("::endgroup::")
    sources, lines = events[1:end], events[end + 1 :]
    assert any(source.startswith(str(services.home / "logs")) for source in sources), sources
    assert lines, f"the task's own log lines are shown; sources: {sources}"


def test_the_local_executor_stack_listens_on_loopback_only_and_shows_task_logs(sparkify_dag_live):
    services = sparkify_dag_live
    with deferred_sensor(services) as sensor:
        assert_all_on_loopback(services)
        assert_log_is_shown(services, sensor)


@pytest.fixture(scope="module")
def celery_stack(stack, airflow_login):
    extra_env = {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    celery = CelerySettings(workers=2, concurrency=2)
    with private_airflow(stack, airflow_login, "sockets", extra_env, executor="celery", celery=celery) as services:
        yield services


def redis_exchange(port: int, *commands: str) -> list[bytes]:
    """Each inline command's first reply line, over a raw socket (RESP inline commands)."""
    replies = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn, conn.makefile("rb") as reader:
        for command in commands:
            conn.sendall(command.encode() + b"\r\n")
            replies.append(reader.readline().rstrip(b"\r\n"))
    return replies


def test_the_celery_stack_listens_on_loopback_only_and_its_broker_wants_the_password(celery_stack, capsys):
    services = celery_stack
    password_file, config = services.home / BROKER_PASSWORD_FILE, services.home / BROKER_CONFIG_FILE
    password = password_file.read_text().strip()
    assert len(password) >= 40
    for private in (password_file, config):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    assert f"requirepass {password}" in config.read_text()

    port = services.ports.broker
    assert redis_exchange(port, "PING")[0].startswith(b"-NOAUTH"), "no password, no service"
    assert redis_exchange(port, "AUTH wrong-password", "PING")[1].startswith(b"-NOAUTH")
    assert redis_exchange(port, f"AUTH {password}", "PING") == [b"+OK", b"+PONG"]

    with deferred_sensor(services) as sensor:
        found = assert_all_on_loopback(services)
        assert ("127.0.0.1", port) in found, found
        assert_log_is_shown(services, sensor)
        assert sensor["hostname"].startswith("sparkify-worker-"), "it ran on a Celery worker"

    broker = psutil.Process(services.running()[BROKER])
    assert not any(password in part for part in broker.cmdline()), "not on redis-server's command line"
    print_airflow_status(services)
    status = capsys.readouterr().out
    assert f"redis://127.0.0.1:{port}/0" in status and password not in status
    worker_log = (services.home / "celery-worker-1.log").read_text(errors="replace")
    assert f"redis://:**@127.0.0.1:{port}/0" in worker_log, "Celery prints the broker URL, password hidden"
    secret = password.encode()
    leaks = [
        path
        for path in services.home.rglob("*")
        if path.is_file() and path not in (password_file, config) and secret in path.read_bytes()
    ]
    assert not leaks, f"the broker's password is in {leaks}"
