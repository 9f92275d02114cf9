"""Files and folders that only their owner may read, made so that no symlink or race can redirect them.

A file is created by `os.open` with O_CREAT | O_EXCL | O_NOFOLLOW and mode 0600: it is
private from its first byte (never chmod-ed afterwards), and a symlink or a file planted
at its name makes the call fail instead of writing through it. Log files are appended to
(O_APPEND | O_NOFOLLOW), created 0600, and a log left 0644 by an older version is made 0600.
"""

from __future__ import annotations

import logging.handlers
import os
import secrets
import stat
from io import TextIOWrapper
from pathlib import Path

CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


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


def open_private_log(path: Path) -> int:
    """A descriptor appending to the log `path`, which is created 0600 (and made 0600 if it was not).

    A symlink at `path` makes it fail (OSError ELOOP) rather than write through it.
    """
    descriptor = os.open(path, APPEND, 0o600)
    try:
        info = os.fstat(descriptor)
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            os.fchmod(descriptor, stat.S_IMODE(info.st_mode) & 0o600)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def private_folder(path: Path) -> Path:
    """`path` as a folder only its owner can enter: made 0700, or made 0700 if it is ours and open to others.

    Only for a component's own folder (its logs and pid files): never for a folder above the
    warehouse's data, which PostgreSQL's service user must traverse when the stack runs as root.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode) and info.st_mode & 0o077 and info.st_uid == os.geteuid():
        os.chmod(path, 0o700, follow_symlinks=False)
    return path


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files (the current one and each one after a rollover) are 0600."""

    def _open(self) -> TextIOWrapper:
        stream = os.fdopen(open_private_log(Path(self.baseFilename)), "a", encoding=self.encoding, errors=self.errors)
        assert isinstance(stream, TextIOWrapper)  # text mode: what FileHandler's own open gives
        return stream


def generated_secrets(path: Path, names: tuple[str, ...]) -> dict[str, str]:
    """The secrets `names` kept in the JSON file `path` (0600), each generated (secrets.token_urlsafe) the
    first time it is asked for. Concurrent first calls agree: the file appears whole, by a hard link that
    fails if another process made it first, and the loser reads the winner's."""
    import json

    try:
        stored = json.loads(read_private(path))
    except FileNotFoundError:
        stored = {}
    missing = [name for name in names if not isinstance(stored.get(name), str) or not stored[name]]
    if not missing:
        return {name: stored[name] for name in names}
    wanted = {**stored, **{name: secrets.token_urlsafe(24) for name in missing}}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        create_private(temporary, json.dumps(wanted, indent=2) + "\n")
        if stored:  # a file of an older version that lacks some: completed in place
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path, follow_symlinks=False)
            except FileExistsError:  # another process made it first
                return generated_secrets(path, names)
    finally:
        temporary.unlink(missing_ok=True)
    return {name: wanted[name] for name in names}
