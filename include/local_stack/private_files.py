"""Files and folders that only their owner may read, made so that no symlink or race can redirect them.

A file is created by `os.open` with O_CREAT | O_EXCL | O_NOFOLLOW and mode 0600: it is
private from its first byte (never chmod-ed afterwards), and a symlink or a file planted
at its name makes the call fail instead of writing through it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def create_private(path: Path, text: str) -> None:
    """Write `text` to a new file `path`, 0600. Fails (FileExistsError) if anything is already at `path`."""
    descriptor = os.open(path, CREATE, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def replace_private(path: Path, text: str) -> None:
    """Write `text` to `path`, 0600, replacing what is there (a symlink there is replaced, not followed)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        create_private(temporary, text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_private(path: Path) -> str:
    """The text of `path`, refusing to follow a symlink (OSError ELOOP)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, encoding="utf-8") as file:
        return file.read()
