"""`make up` / `make down` / `make status` with Airflow: idempotent start, clear port conflicts, clean stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import psutil
import pytest

from local_stack.airflow_services import COMPONENTS, AirflowPorts, AirflowServices
from local_stack.processes import StackError, free_port
from local_stack.settings import PROJECT_ROOT, load_settings
from local_stack.warehouse_server import WarehouseServer

pytestmark = pytest.mark.integration


def test_starting_running_airflow_again_is_harmless(airflow_services):
    pids = airflow_services.running()
    assert all(pids.values()), pids
    assert airflow_services.start() is False
    assert airflow_services.running() == pids


def test_an_airflow_port_in_use_gives_a_clear_message(stack, tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        services = AirflowServices(stack, home=tmp_path, ports=AirflowPorts(port, free_port(), free_port()))
        with pytest.raises(
            StackError, match=f"Port {port} \\(Airflow api-server\\) is already in use.*SPARKIFY_AIRFLOW_PORT"
        ):
            services.start()
    assert not (tmp_path / "api-server.pid").exists()


def test_make_up_status_and_down_manage_the_whole_stack(stack, airflow_login):
    """The commands behind `make up/status/down`, on their own ports and state folder."""
    ports = {
        name: free_port()
        for name in (
            "SPARKIFY_WAREHOUSE_PORT",
            "SPARKIFY_S3_PORT",
            "SPARKIFY_AIRFLOW_PORT",
            "SPARKIFY_AIRFLOW_TASK_LOG_PORT",
            "SPARKIFY_AIRFLOW_TRIGGER_LOG_PORT",
        )
    }
    state = stack.state_dir / "make-up"
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "SPARKIFY_STATE_DIR": str(state),
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "include"), str(PROJECT_ROOT / "plugins")]),
    }

    def stack_command(*command: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "local_stack", *command],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr[-3000:]}"
        return result.stdout

    settings = load_settings(
        state_dir=state, warehouse_port=ports["SPARKIFY_WAREHOUSE_PORT"], s3_port=ports["SPARKIFY_S3_PORT"]
    )
    services = AirflowServices(
        settings,
        ports=AirflowPorts(
            *(
                ports[k]
                for k in (
                    "SPARKIFY_AIRFLOW_PORT",
                    "SPARKIFY_AIRFLOW_TASK_LOG_PORT",
                    "SPARKIFY_AIRFLOW_TRIGGER_LOG_PORT",
                )
            )
        ),
    )
    try:
        out = stack_command("up")
        url = f"http://localhost:{ports['SPARKIFY_AIRFLOW_PORT']}"
        assert f"running  {url}  login: {airflow_login.username}" in out, out
        pids = services.running()
        assert all(pids.values()), pids
        health = httpx.get(f"{url}/api/v2/monitor/health", timeout=30).json()
        assert {health[k]["status"] for k in ("metadatabase", "scheduler", "dag_processor", "triggerer")} == {"healthy"}
        assert services.api().token()
        assert "sparkify_etl" in stack_command("airflow", "dags", "list", "--output", "plain")

        assert stack_command("up") and services.running() == pids, "a second `make up` changes nothing"
        assert (
            "Airflow 3 (api-server, scheduler, dag-processor, triggerer; PreloadingLocalExecutor, a LocalExecutor "
            "that preloads the tasks' libraries): running" in stack_command("status")
        )

        family = [psutil.Process(pid) for pid in pids.values()]
        family += [child for process in family for child in process.children(recursive=True)]
        out = stack_command("down")
        assert f"Airflow: stopped {', '.join(('scheduler', 'triggerer', 'dag-processor', 'api-server'))}" in out, out
        assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert set(services.running().values()) == {None}
        assert (
            "Airflow 3 (api-server, scheduler, dag-processor, triggerer; PreloadingLocalExecutor, a LocalExecutor "
            "that preloads the tasks' libraries): stopped" in stack_command("status")
        )
        assert sorted(COMPONENTS) == sorted(services.running())
    finally:
        services.stop()
        stack_command("down")
        WarehouseServer(settings).remove()
