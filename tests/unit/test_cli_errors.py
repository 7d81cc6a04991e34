"""A bad flag or `CONDUIT_*` value stops the server at start with a one-line usage error, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {"CONDUIT_PORT": "abc"}, "argument --port: invalid int value: 'abc'"),
        ([], {"CONDUIT_DELIVERY_TIMEOUT": "soon"}, "argument --delivery-timeout"),
        ([], {"CONDUIT_ALLOW_NETWORK": "300.1.1.1/8"}, "CONDUIT_ALLOW_NETWORK: not a network"),
        (["--allow-network", "nope"], {}, "argument --allow-network: not a network"),
    ],
)
def test_bad_setting_is_a_usage_error(args: list[str], env: dict[str, str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conduit", "serve", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
