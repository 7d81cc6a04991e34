"""Who this node is, across restarts: a stable id kept in its data directory.

Claims on PostgreSQL are tagged with the node that holds them. A node that is killed and started
again finds its previous self's claims by that id and releases them at once instead of waiting out
their leases — safe because no other live process can be that node: the data directory is locked
for the life of the process (a second node on the same data directory refuses to start).
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

ID_FILE = "node-id"
LOCK_FILE = "node.lock"

_held: dict[Path, tuple[int, str]] = {}


class NodeInUse(Exception):
    """Another running Conduit process uses this data directory."""


def claim_node_identity(data_dir: Path) -> str:
    """This node's id, holding the data directory's lock (again in one process: a no-op)."""
    data_dir = data_dir.resolve()
    if data_dir in _held:
        return _held[data_dir][1]
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise NodeInUse(
            f"another Conduit node is running with the data directory {data_dir};"
            " give every node a data directory of its own"
        ) from None
    path = data_dir / ID_FILE
    try:
        node_id = path.read_text().strip()
    except FileNotFoundError:
        node_id = ""
    if not node_id:
        node_id = uuid.uuid4().hex[:12]
        path.write_text(node_id + "\n")
    _held[data_dir] = (fd, node_id)
    return node_id
