"""schemathesis against a real server, bounded for CI: every operation (streams aside), with and
without credentials; no server error, every response as documented. The long mode is
`python bench/fuzz_api.py --max-time 300`."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.fuzz_api import fuzz

from tests.harness.backends import SQLITE

# The API layer is what is fuzzed; the backends are held to one contract elsewhere.
pytestmark = pytest.mark.backends(SQLITE)


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path: Path) -> None:
    results = fuzz(tmp_path / "conduit", seed=1, max_examples=3)
    assert {r.name for r in results} == {
        "credentials, others",
        "credentials, DELETE",
        "anonymous, others",
        "anonymous, DELETE",
    }
    for result in results:
        assert result.cases > 0, result.output
        assert result.failures == 0, result.output
