"""Who this node is, across restarts: a stable id kept in its data directory.

Claims on PostgreSQL are tagged with the node that holds them. A node that is killed and started
again finds its previous self's claims by that id and releases them at once instead of waiting out
their leases — safe because no other live process can be that node: the data directory is locked
for the life of the process (a second node on the same data directory refuses to start).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from conduit import lifetime_lock

ID_FILE = "node-id"
LOCK_FILE = "node.lock"

_held: dict[Path, str] = {}


class NodeInUse(Exception):
    """Another running Conduit process uses this data directory."""


def claim_node_identity(data_dir: Path) -> str:
    """This node's id, holding the data directory's lock (again in one process: a no-op)."""
    data_dir = data_dir.resolve()
    if data_dir in _held:
        return _held[data_dir]
    try:
        lifetime_lock.hold(data_dir / LOCK_FILE)
    except lifetime_lock.Locked:
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
    _held[data_dir] = node_id
    return node_id
