"""The pieces of `make up EXECUTOR=celery` that need no Airflow: the broker process, URLs, commands, folders."""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path

import psutil
import pytest
import redis

from local_stack.celery_services import (
    CelerySettings,
    broker_command,
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
from local_stack.processes import free_port, port_is_open, read_pid, spawn, terminate, wait_until


def test_the_bundled_redis_server_serves_on_127_0_0_1_with_an_append_only_file_and_a_password(tmp_path):
    port = free_port()
    password = broker_password(tmp_path)
    assert broker_password(tmp_path) == password and len(password) >= 40, "made once, then kept"
    config = write_broker_config(tmp_path, password)
    for private in (tmp_path / "broker-password", config):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    command = broker_command(port, tmp_path, config)
    assert command[command.index("--bind") + 1] == "127.0.0.1"
    assert not any(password in part for part in command), "the password is not on the command line"
    spawn(command, tmp_path / "broker.pid", tmp_path / "broker.log")
    try:
        wait_until(lambda: port_is_open("127.0.0.1", port), 30, "redis-server", tmp_path / "broker.log")
        assert not any(password in part for part in psutil.Process(read_pid(tmp_path / "broker.pid")).cmdline())
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port, password="wrong").ping()
        client = redis.Redis.from_url(broker_url(port, password))
        client.rpush("queue", b"task")
        assert client.lrange("queue", 0, -1) == [b"task"]
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("protected-mode") == {"protected-mode": "yes"}
    finally:
        assert terminate(tmp_path / "broker.pid")
    assert read_pid(tmp_path / "broker.pid") is None and not port_is_open("127.0.0.1", port)
    assert list(tmp_path.rglob("*.aof*")), "the queue survives a restart in the append-only file"


def test_urls_and_settings():
    url = result_backend_url("aws user", "airflow_x", Path("/tmp/sock dir"), 5433)
    assert url == "db+postgresql://aws%20user@/airflow_x?host=/tmp/sock%20dir&port=5433"
    env = celery_environment(CelerySettings(concurrency=3, visibility_timeout=90), 16379, "p/w d", url)
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:p%2Fw%20d@127.0.0.1:16379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == url and env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "3"
    assert (
        env["AIRFLOW__CELERY__TASK_ACKS_LATE"] == "True" and env["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"] == "1"
    )
    assert env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"] == "90"


def test_two_workers_have_distinct_names_pid_files_and_folders(tmp_path):
    names = CelerySettings(workers=2).worker_names()
    assert names == ["celery-worker-1", "celery-worker-2"]
    assert [worker_hostname(n) for n in names] == ["sparkify-worker-1", "sparkify-worker-2"]
    commands = [worker_command("python", n, tmp_path, 4) for n in names]
    assert [c[c.index("--celery-hostname") + 1] for c in commands] == ["sparkify-worker-1@%h", "sparkify-worker-2@%h"]
    assert len({c[c.index("--pid") + 1] for c in commands}) == 2
    folders = [new_workdir(tmp_path, n) for n in names]
    assert len(set(folders)) == 2 and all(f.is_dir() and f.parent == Path(tempfile.gettempdir()) for f in folders)
    for name, folder in zip(names, folders):
        remove_workdir(tmp_path, name)
        assert not folder.exists() and not (tmp_path / f"{name}.workdir").exists()


def test_only_a_folder_this_module_made_is_deleted(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (tmp_path / "celery-worker-1.workdir").write_text(f"{precious}\n")
    remove_workdir(tmp_path, "celery-worker-1")
    assert precious.is_dir()
