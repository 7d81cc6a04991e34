"""An exclusive lock on a file, held for the life of this process (or released explicitly).

Both things that must have one owner at a time use it: a SQLite database (one server per file) and a
node's data directory (one node per directory). `flock` locks die with the process, so a crash never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

_held: dict[Path, int] = {}


class Locked(Exception):
    """Another live process holds the lock."""


def hold(path: Path) -> bool:
    """Take the lock at `path` (creating it 0600); False if this process holds it already.
    Raises `Locked` if another process does."""
    path = path.resolve()
    if path in _held:
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Locked(str(path)) from None
    _held[path] = fd
    return True


def release(path: Path) -> None:
    fd = _held.pop(path.resolve(), None)
    if fd is not None:
        os.close(fd)
