"""Log files of the local stack are 0600 in 0700 folders: spawn's output, and the emulator's rotating statement log."""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import pytest

from local_stack.private_files import PrivateRotatingFileHandler, open_private_log, private_folder
from local_stack.processes import spawn


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_spawned_process_logs_to_a_0600_file_in_a_0700_folder(tmp_path):
    log_file = tmp_path / "component" / "server.log"
    pid = spawn([sys.executable, "-c", "print('hello from the child')"], tmp_path / "child.pid", log_file)
    os.waitpid(pid, 0)

    assert log_file.read_text() == "hello from the child\n"
    assert (mode(log_file), mode(log_file.parent)) == (0o600, 0o700)


def test_an_old_open_log_and_folder_are_made_private(tmp_path):
    """A log and folder left 0644/0755 by an earlier version are tightened; the log's text is kept."""
    folder = tmp_path / "redshift"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    log_file = folder / "emulator.log"
    log_file.write_text("earlier\n")
    log_file.chmod(0o644)

    private_folder(folder)
    os.close(open_private_log(log_file))

    assert (mode(log_file), mode(folder)) == (0o600, 0o700)
    assert log_file.read_text() == "earlier\n"


def test_a_symlink_at_the_log_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "server.log").symlink_to(target)

    with pytest.raises(OSError):
        open_private_log(tmp_path / "server.log")


def test_every_file_of_the_rotating_statement_log_is_0600(tmp_path):
    logger = logging.getLogger(f"test_private_logs.{tmp_path.name}")
    logger.propagate = False
    handler = PrivateRotatingFileHandler(tmp_path / "statements.log", maxBytes=100, backupCount=2)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for n in range(20):
            logger.info("statement %02d %s", n, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()

    files = sorted(tmp_path.glob("statements.log*"))
    assert [f.name for f in files] == ["statements.log", "statements.log.1", "statements.log.2"]
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert "statement 19" in files[0].read_text()
