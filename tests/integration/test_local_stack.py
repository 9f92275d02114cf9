"""The embedded stack's own promises: idempotent start, clear port conflicts, overridable ports."""

from __future__ import annotations

import json
import socket

import pytest

from local_stack.processes import StackError, free_port
from local_stack.s3_server import S3Server
from local_stack.settings import load_settings
from local_stack.warehouse_server import WarehouseServer

pytestmark = pytest.mark.integration


def test_starting_a_running_stack_again_is_harmless(stack, db):
    WarehouseServer(stack).start()
    assert S3Server(stack).start() is False
    assert db.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("server", [WarehouseServer, S3Server])
def test_a_port_in_use_gives_a_clear_message(server, tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = load_settings(state_dir=tmp_path, warehouse_port=port, s3_port=port)
        with pytest.raises(StackError, match=f"Port {port} is already in use.*SPARKIFY_"):
            server(settings).start()


def test_port_overrides_rewrite_the_connections(tmp_path):
    warehouse_port, s3_port = free_port(), free_port()
    env = load_settings(state_dir=tmp_path, warehouse_port=warehouse_port, s3_port=s3_port).environment()
    assert json.loads(env["AIRFLOW_CONN_REDSHIFT"])["port"] == warehouse_port
    aws = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert aws["extra"]["endpoint_url"] == f"http://127.0.0.1:{s3_port}"
    assert aws["extra"]["region_name"] == "us-west-2"
