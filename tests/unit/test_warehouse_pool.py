"""The `warehouse` pool: one definition (plugins/sparkify/pools.py), created by `make up` and by Compose."""

from __future__ import annotations

import json
import shlex
import subprocess
import types

import yaml

from local_stack.airflow_services import AirflowServices, pool_names
from sparkify.pools import WAREHOUSE_POOL, WAREHOUSE_POOL_DESCRIPTION, WAREHOUSE_POOL_SLOTS
from tests.support import PROJECT_ROOT


def test_the_compose_init_job_creates_the_same_pool_when_it_is_missing():
    init = yaml.safe_load((PROJECT_ROOT / "docker-compose.yaml").read_text())["services"]["airflow-init"]
    script = init["command"][-1]
    wanted = shlex.join(
        ["airflow", "pools", "set", WAREHOUSE_POOL, str(WAREHOUSE_POOL_SLOTS), WAREHOUSE_POOL_DESCRIPTION]
    )
    lines = [line.strip() for line in script.replace("\\\n", " ").splitlines()]
    [line] = [line for line in lines if "pools set" in line]
    # only when `pools get` fails (the pool is missing), so a pool resized in the UI keeps its size
    get, set_ = line.split("||")
    assert shlex.split(get)[:4] == ["/entrypoint", "airflow", "pools", "get"] and WAREHOUSE_POOL in get
    assert shlex.join(shlex.split(set_)[1:]) == wanted and shlex.split(set_)[0] == "/entrypoint"
    assert script.index("chown") < script.index("pools set"), "after the database exists"


class RecordingServices(AirflowServices):
    """AirflowServices whose `airflow` CLI calls are recorded and answered from a pool list."""

    def __init__(self, pools: list[dict]) -> None:  # no settings: only ensure_pools is used
        self.calls, self.pools = [], pools

    def airflow(self, *args: str, timeout: float = 300, check: bool = True):
        self.calls.append(args)
        return types.SimpleNamespace(returncode=0, stdout="some log line\n" + json.dumps(self.pools) + "\n", stderr="")


def test_make_up_creates_the_pool_when_it_is_missing():
    services = RecordingServices([{"pool": "default_pool", "slots": "128"}])
    assert services.ensure_pools() == [WAREHOUSE_POOL]
    assert services.calls[-1] == ("pools", "set", WAREHOUSE_POOL, str(WAREHOUSE_POOL_SLOTS), WAREHOUSE_POOL_DESCRIPTION)


def test_make_up_leaves_an_existing_pool_alone():
    services = RecordingServices([{"pool": "default_pool", "slots": "128"}, {"pool": WAREHOUSE_POOL, "slots": "9"}])
    assert services.ensure_pools() == []
    assert [call[:2] for call in services.calls] == [("pools", "list")]


def test_make_up_creates_the_pool_right_after_the_schema_migration():
    source = (PROJECT_ROOT / "include" / "local_stack" / "airflow_services.py").read_text()
    prepare = source[source.index("def _prepare") : source.index("def ensure_pools")]
    assert prepare.index('self.airflow("db", "migrate"') < prepare.index("self.ensure_pools()")


def test_pool_names_reads_the_cli_json_after_log_lines():
    listing = 'WARNING something\n[{"pool": "default_pool", "slots": "128"}, {"pool": "warehouse", "slots": "4"}]\n'
    assert pool_names(listing) == {"default_pool", "warehouse"}
    assert pool_names("") == set()


def test_the_cli_pool_commands_exist():
    """`airflow pools list/get/set` are the commands make up and Compose use."""
    airflow = PROJECT_ROOT / ".venv" / "bin" / "airflow"
    out = subprocess.run([str(airflow), "pools", "--help"], capture_output=True, text=True, timeout=120).stdout
    assert all(command in out for command in ("list", "get", "set"))
