"""The versioned migration files of a backend (`<backend>/migrations/NNNN_name.sql`), in order."""

from __future__ import annotations

from collections.abc import Iterator, Set
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def pending(package: str, done: Set[int]) -> Iterator[Migration]:
    """The migrations of `package` not in `done`, oldest first."""
    folder = resources.files(package).joinpath("migrations")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        version = int(entry.name.split("_", 1)[0])
        if version not in done:
            yield Migration(version, entry.name, entry.read_text(encoding="utf-8"))
