"""Issue 3 audit, the parts that are pure code: one code path changes a status, and the delivery
defaults the issue names (10 s timeout, high in-flight caps)."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

import conduit
from conduit.cli import _serve_arguments, settings_from
from conduit.config import Settings

SOURCE = Path(conduit.__file__).parent
_UPDATE = re.compile(r"UPDATE\s+dataconnectors\s+SET\s+(?P<set>.*?)(?:\s+WHERE\b|$)", re.I | re.S)
_STATUS = re.compile(r"\bstatus\s*=", re.I)


def _string_parts(tree: ast.AST) -> list[str]:
    """Every string literal of a module; an f-string's literal parts joined (its holes blanked),
    so SQL spread over adjacent literals (merged by the parser) is seen whole."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            found.append(
                "".join(
                    v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "?"
                    for v in node.values
                )
            )
    return found


def _status_writers() -> dict[str, int]:
    """module -> how many `UPDATE dataconnectors SET ... status = ...` statements it holds."""
    writers: dict[str, int] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for text in _string_parts(tree):
            for match in _UPDATE.finditer(text):
                if _STATUS.search(match.group("set")):
                    name = str(path.relative_to(SOURCE.parent))
                    writers[name] = writers.get(name, 0) + 1
    return writers


def test_exactly_one_code_path_changes_a_connectors_status() -> None:
    """Issue item 6: "Exactly one code path disables a connector" — every SQL statement in the
    package that sets `dataconnectors.status` is in each backend's `set_connector_status` (the
    user's PATCH and the dispatcher's SYSTEM_DISABLED both call it), so emptying the queue on
    disable cannot be skipped by a second path."""
    assert _status_writers() == {
        "conduit/store/sqlite/queue.py": 2,
        "conduit/store/postgres/queue.py": 2,
    }


def test_the_scan_would_see_a_second_status_writer() -> None:
    """The scan above is not vacuous: SQL split over literals and f-strings is recognised."""
    tree = ast.parse(
        'q = ("UPDATE dataconnectors SET display_name = ?,"\n'
        '     " status = ? WHERE id = ?")\n'
        "f\"UPDATE dataconnectors SET {cols}, status = 'X' WHERE id = ?\"\n"
        '"UPDATE dataconnectors SET failing_since = ? WHERE id = ? AND status = ?"\n'
    )
    hits = [
        m
        for text in _string_parts(tree)
        for m in _UPDATE.finditer(text)
        if _STATUS.search(m.group("set"))
    ]
    assert len(hits) == 2  # the third only *reads* status, in its WHERE clause


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DELIVERY_TIMEOUT", "MAX_IN_FLIGHT", "MAX_IN_FLIGHT_PER_CONNECTOR", "CA_BUNDLE"):
        monkeypatch.delenv(f"CONDUIT_{name}", raising=False)


def test_delivery_defaults_are_a_ten_second_timeout_and_high_caps(clean_env: None) -> None:
    """Issue item 3: "10 s timeout", caps "configurable, high defaults", TLS against the system
    store unless `--ca-bundle` — for `conduit serve` with no flags and for `Settings()` alike."""
    parser = argparse.ArgumentParser()
    _serve_arguments(parser)
    for settings in (settings_from(parser.parse_args([])), Settings()):
        assert settings.delivery_timeout == 10.0
        assert settings.max_in_flight == 1024
        assert settings.max_in_flight_per_connector == 256
        assert settings.ca_bundle is None
    flagged = settings_from(
        parser.parse_args(
            [
                "--delivery-timeout",
                "2.5",
                "--max-in-flight",
                "8",
                "--max-in-flight-per-connector",
                "2",
            ]
        )
    )
    assert (flagged.delivery_timeout, flagged.max_in_flight) == (2.5, 8)
    assert flagged.max_in_flight_per_connector == 2
