"""The PostgreSQL service user that a stack started as root creates: two stacks starting at once on a fresh machine
both find it missing and both run `useradd`; the second `useradd` fails because the first one added the user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from local_stack.processes import StackError
from local_stack.warehouse_server import _add_system_user, _ensure_service_user

MISSING = "sparkify-no-such-user"
FAKE_USERADD = """#!/bin/sh
echo "$@" >> {record}
echo "{message}" >&2
exit {code}
"""


def existing_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def fake_useradd(tmp_path: Path, monkeypatch, code: int, message: str = "") -> Path:
    """A `useradd` first on PATH that records its arguments and exits with `code`; returns the record."""
    record = tmp_path / "useradd-calls"
    program = tmp_path / "bin" / "useradd"
    program.parent.mkdir()
    program.write_text(FAKE_USERADD.format(record=record, message=message, code=code))
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{program.parent}{os.pathsep}{os.environ['PATH']}")
    return record


def test_a_user_added_meanwhile_by_another_start_is_accepted(monkeypatch):
    """The real `useradd`, for a user that exists: what the second of two racing starts meets."""
    useradd = shutil.which("useradd", path=f"{os.environ['PATH']}{os.pathsep}/usr/sbin{os.pathsep}/sbin")
    if useradd is None:
        pytest.skip("needs useradd (the stack runs it only as root on Linux)")
    monkeypatch.setenv("PATH", f"{os.environ['PATH']}{os.pathsep}{os.path.dirname(useradd)}")
    name = existing_user()
    refused = subprocess.run([useradd, "--system", name], capture_output=True, text=True)
    assert refused.returncode == 9, refused  # useradd's "username already in use", even without root
    _add_system_user(name)  # no error: the user is there


def test_an_existing_user_is_not_added_again(tmp_path, monkeypatch):
    record = fake_useradd(tmp_path, monkeypatch, 0)
    _ensure_service_user(existing_user())
    assert not record.exists(), "useradd ran for a user that exists"


def test_a_missing_user_is_added_as_a_system_user_without_home_or_login(tmp_path, monkeypatch):
    record = fake_useradd(tmp_path, monkeypatch, 0)
    _ensure_service_user(MISSING)
    assert record.read_text().split() == ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", MISSING]


@pytest.mark.parametrize(
    ("code", "message"),
    [(1, "useradd: cannot lock /etc/passwd; try again later."), (9, "useradd: user 'x' already exists")],
)
def test_a_failed_useradd_with_the_user_still_missing_says_so(tmp_path, monkeypatch, code, message):
    with pytest.raises(KeyError):
        pwd.getpwnam(MISSING)
    fake_useradd(tmp_path, monkeypatch, code, message)
    with pytest.raises(StackError) as error:
        _ensure_service_user(MISSING)
    assert f"system user {MISSING!r}" in str(error.value)
    assert f"useradd exit {code}: {message}" in str(error.value)
