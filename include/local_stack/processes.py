"""Background processes tracked by pid files, and the port checks around them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from local_stack.private_files import open_private_log, private_folder


class StackError(RuntimeError):
    """A local-stack problem the user can act on; the message says how."""


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is still alive (not a zombie that has exited), else None."""
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
        return None
    except PermissionError:
        return pid
    return None if _is_zombie(pid) else pid


def wait_until(ready: Callable[[], bool], timeout: float, what: str, log_file: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
    raise StackError(f"{what} did not become ready within {timeout:.0f}s. Log {log_file}:\n{tail}")


def spawn(
    command: Sequence[str], pid_file: Path, log_file: Path, env: dict | None = None, cwd: Path | None = None
) -> int:
    """Start `command` in its own session, detached from our terminal, and record its pid.

    Its output goes to `log_file`, 0600 in a 0700 folder: a server's log can quote what clients sent.
    """
    private_folder(log_file.parent)
    with os.fdopen(open_private_log(log_file), "ab") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    pid_file.write_text(f"{process.pid}\n")
    return process.pid


def terminate(pid_file: Path, timeout: float = 10) -> bool:
    """Stop the process group recorded in `pid_file`. Returns whether one was running."""
    pid = read_pid(pid_file)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                if _is_zombie(pid):
                    return True
            except ProcessLookupError:
                return True
            time.sleep(0.1)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        # The name in parentheses may contain spaces (setproctitle): the state follows the last ")".
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return False
