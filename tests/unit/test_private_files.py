"""Local state that holds secrets or data is private from its creation and never written through a symlink.

- As root, the warehouse's data folder (when the project sits under a private folder) is a
  new mkdtemp folder, not the predictable /tmp/sparkify-warehouse-<hash> that anyone could
  plant a symlink at, and it is recorded so that the stack finds it again.
- secrets.json (the Airflow keys) is created 0600 with O_EXCL|O_NOFOLLOW, never chmod-ed afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from local_stack.airflow_services import AirflowServices
from local_stack.private_files import create_private, replace_private
from local_stack.processes import StackError
from local_stack.settings import load_settings
from local_stack.warehouse_server import HOME_RECORD, WarehouseServer


@pytest.fixture
def private_state(tmp_path, monkeypatch):
    """Settings whose state folder the service user cannot reach (like /root/project/.local), run as root."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    made = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(Path(real_mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    yield load_settings(state_dir=locked / "state")
    for folder in made:
        if folder.is_dir():
            folder.rmdir()


def predictable_home(settings) -> Path:
    """Where the data went before: a name anyone could compute and plant a symlink at."""
    digest = hashlib.sha256(str(settings.state_dir / "warehouse").encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"sparkify-warehouse-{digest}"


def test_as_root_the_data_folder_is_a_private_mkdtemp_folder_found_again(private_state):
    planted = predictable_home(private_state)
    if not os.path.lexists(planted):
        planted.symlink_to("/etc")  # what an attacker would leave there
    try:
        home = WarehouseServer(private_state).home
        assert home != planted and "/etc" not in str(home.resolve())
        info = os.lstat(home)
        assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
        assert home.parent == Path(tempfile.gettempdir()) and home.name.startswith("sparkify-warehouse-")
        assert WarehouseServer(private_state).home == home, "the next command finds the same folder"
        record = private_state.state_dir / HOME_RECORD
        assert stat.S_IMODE(os.lstat(record).st_mode) == 0o600 and record.read_text().strip() == str(home)
    finally:
        if planted.is_symlink():
            planted.unlink()


def test_a_recorded_folder_that_is_gone_is_replaced_and_a_tampered_one_refused(private_state):
    first = WarehouseServer(private_state).home
    first.rmdir()  # e.g. /tmp emptied at boot
    second = WarehouseServer(private_state).home
    assert second != first and second.is_dir()

    second.chmod(0o777)
    with pytest.raises(StackError, match="not a private folder"):
        WarehouseServer(private_state)
    second.chmod(0o700)

    link = Path(tempfile.gettempdir()) / f"sparkify-warehouse-link-{os.getpid()}"
    link.symlink_to(second)
    try:
        replace_private(private_state.state_dir / HOME_RECORD, f"{link}\n")
        with pytest.raises(StackError, match="not a private folder"):
            WarehouseServer(private_state)
    finally:
        link.unlink()


def test_a_symlink_as_the_record_is_refused(private_state):
    record = private_state.state_dir / HOME_RECORD
    private_state.state_dir.mkdir(parents=True, exist_ok=True)  # loading the settings made it (passwords.json)
    target = private_state.state_dir / "elsewhere"
    target.write_text("/tmp\n")
    record.symlink_to(target)
    with pytest.raises(StackError, match="not a regular file"):
        WarehouseServer(private_state)


def services(tmp_path) -> AirflowServices:
    return AirflowServices(load_settings(state_dir=tmp_path / "state"), home=tmp_path / "airflow")


def test_secrets_json_is_created_0600_without_a_chmod(tmp_path, monkeypatch):
    old_umask = os.umask(0o022)
    chmods = []
    monkeypatch.setattr(Path, "chmod", lambda self, mode, **kw: chmods.append((self, mode)))
    monkeypatch.setattr(os, "chmod", lambda path, mode, **kw: chmods.append((path, mode)))
    try:
        airflow = services(tmp_path)
        keys = airflow._secrets()
    finally:
        os.umask(old_umask)
    path = airflow.home / "secrets.json"
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600, "readable by others from the moment it was created"
    assert not chmods, f"made private only afterwards: {chmods}"
    assert json.loads(path.read_text()) == keys and airflow._secrets() == keys


def test_secrets_json_is_never_written_through_a_symlink(tmp_path):
    airflow = services(tmp_path)
    airflow.home.mkdir(parents=True)
    target = tmp_path / "world-readable-target"
    (airflow.home / "secrets.json").symlink_to(target)
    with pytest.raises(OSError):
        airflow._secrets()
    assert not target.exists(), "the keys were written through the symlink"


def test_the_helpers_refuse_what_is_already_there(tmp_path):
    target = tmp_path / "target"
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(FileExistsError):
        create_private(tmp_path / "link", "secret")
    assert not target.exists()
    replace_private(tmp_path / "link", "secret")  # replaces the link itself
    assert not target.exists() and not (tmp_path / "link").is_symlink()
    assert stat.S_IMODE(os.lstat(tmp_path / "link").st_mode) == 0o600
