"""`conduit dt ...` (or `python -m conduit.dtcli ...`): the official `disruptive-cli`, for Conduit.

Why a launcher: `disruptive-cli` (the `dt` command) has no flag or environment variable for the API
address; it always talks to `disruptive.base_url`, which is hard-coded to DT Cloud. And `disruptive`
reads `DT_CREDENTIALS_FILE` once, when it is first imported (`default_auth = Auth.init()`). So the
launcher sets the credentials file before that first import, points `disruptive.base_url` and
`disruptive.emulator_base_url` at `{server}/v2`, and runs the CLI's own, unmodified entry point with
the remaining arguments. Nothing of the CLI is changed; what a user sees is what `dt` prints.

Where things come from (flags > environment > defaults, as everywhere in Conduit):
- server: `--server URL`, else `CONDUIT_SERVER`, else the server that issued the credentials (the
  origin of their `tokenEndpoint`, which Conduit writes as `{server}/oauth2/token`), else
  `http://127.0.0.1:8080`;
- credentials: `--credentials FILE`, else `DT_CREDENTIALS_FILE`, else
  `{CONDUIT_DATA_DIR or ./conduit-data}/credentials.json` when that file exists. Without any,
  `dt` runs unauthenticated (help and `dt config` need nothing); API commands get `Unauthorized`.

The launcher's two options are taken from anywhere in the arguments (`dt` itself has neither) up to
a `--`, after which everything goes to `dt` verbatim.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROG = "conduit dt"
DEFAULT_SERVER = "http://127.0.0.1:8080"
CREDENTIALS_FILE = "credentials.json"
INSTALL_HINT = "pip install 'conduit[cli]'"
NO_CREDENTIALS = (
    "no credentials: pass --credentials FILE (Conduit writes credentials.json to its data"
    " directory), set DT_CREDENTIALS_FILE or CONDUIT_DATA_DIR"
)
TOKEN_PATH = "/oauth2/token"
# What `disruptive` requires of a credentials file (`ServiceAccountAuth.from_credentials_file`).
CREDENTIAL_FIELDS = ("keyId", "secret", "email", "algorithm", "tokenEndpoint")


class LaunchError(Exception):
    """A problem with the launcher's own inputs: reported in one line, exit status 2."""


@dataclass(frozen=True)
class Launch:
    """Everything decided before `disruptive` is imported."""

    api_url: str  # `{server}/v2`, for both `base_url` and `emulator_base_url`
    credentials: Path | None  # becomes DT_CREDENTIALS_FILE; None leaves the environment alone
    dt_args: list[str]


def split_args(argv: Sequence[str]) -> tuple[str | None, str | None, list[str]]:
    """Take out `--server` and `--credentials` (`--opt value` or `--opt=value`); keep the rest."""
    server: str | None = None
    credentials: str | None = None
    rest: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i + 1 :])
            break
        name, eq, value = arg.partition("=")
        if name in ("--server", "--credentials"):
            if not eq:
                if i + 1 >= len(args):
                    raise LaunchError(f"{name} needs a value")
                i += 1
                value = args[i]
            if not value:
                raise LaunchError(f"{name} needs a value")
            if name == "--server":
                server = value
            else:
                credentials = value
        else:
            rest.append(arg)
        i += 1
    return server, credentials, rest


def api_url(server: str) -> str:
    """`http://host:port` (with or without a trailing `/` or `/v2`) → `http://host:port/v2`."""
    base = server.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise LaunchError(f"--server must be an http(s) URL like {DEFAULT_SERVER}, got {server!r}")
    return base if base.endswith("/v2") else base + "/v2"


def read_credentials(path: Path) -> dict[str, Any]:
    """The `serviceAccount` of a DT credentials file, checked so importing `disruptive` works."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise LaunchError(
            f"credentials file {path} not found (Conduit writes it to its data directory on first"
            " start; pass --credentials FILE or set DT_CREDENTIALS_FILE)"
        ) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LaunchError(f"credentials file {path} is not readable JSON: {exc}") from exc
    account = document.get("serviceAccount") if isinstance(document, dict) else None
    if not isinstance(account, dict):
        raise LaunchError(f"credentials file {path} has no serviceAccount object")
    missing = [f for f in CREDENTIAL_FIELDS if not isinstance(account.get(f), str)]
    if missing:
        raise LaunchError(f"credentials file {path} lacks {', '.join(missing)}")
    return account


def issuing_server(account: Mapping[str, Any]) -> str | None:
    """The server a Conduit credentials file came from: its token endpoint minus `/oauth2/token`."""
    endpoint = str(account.get("tokenEndpoint", ""))
    if not endpoint.endswith(TOKEN_PATH):
        return None
    return endpoint.removesuffix(TOKEN_PATH) or None


def resolve(argv: Sequence[str], environ: Mapping[str, str]) -> Launch:
    """Decide the API URL, the credentials file and `dt`'s arguments (no side effects)."""
    server, credentials_flag, rest = split_args(argv)
    credentials: Path | None = None
    account: dict[str, Any] | None = None
    if credentials_flag is not None:
        credentials = Path(credentials_flag)
    elif environ.get("DT_CREDENTIALS_FILE"):
        credentials = Path(environ["DT_CREDENTIALS_FILE"])
    else:
        default = Path(environ.get("CONDUIT_DATA_DIR") or "./conduit-data") / CREDENTIALS_FILE
        credentials = default if default.exists() else None
    if credentials is not None:
        account = read_credentials(credentials)
        credentials = credentials.resolve()
    chosen = (
        server
        or environ.get("CONDUIT_SERVER")
        or (issuing_server(account) if account else None)
        or DEFAULT_SERVER
    )
    return Launch(api_url=api_url(chosen), credentials=credentials, dt_args=rest)


def fix_shared_page_token(request_class: Any) -> None:
    """Give every `DTRequest.paginated_get` call its own `params` dict.

    `disruptive` 1.7.3 declares `params: dict = {}` and writes `pageToken` into it, so after a
    listing that spanned pages every later listing in the process (e.g. `dt data-connector list -`
    reading several project ids from a pipe) starts from a stale page and skips items. Fixed here,
    in the launcher's own process, because the CLI cannot be told to pass `params`.
    """
    original = request_class.paginated_get.__func__
    if getattr(original, "_conduit_fixed", False):
        return

    def paginated_get(
        cls: Any, /, url: str, pagination_key: str, params: dict[str, Any] | None = None, **kw: Any
    ) -> Any:
        return original(cls, url, pagination_key, dict(params or {}), **kw)

    paginated_get._conduit_fixed = True  # type: ignore[attr-defined]
    request_class.paginated_get = classmethod(paginated_get)


def require_cli() -> None:
    """Fail clearly, before anything is imported, when the optional `disruptive-cli` is missing."""
    if importlib.util.find_spec("dtcli") is None:
        raise LaunchError(f"disruptive-cli is not installed: {INSTALL_HINT}")


def _error_text(exc: BaseException) -> str:
    """`NotFound: device x not found (404)`, from a `disruptive` error with Conduit's error body."""
    detail: Any = exc.args[0] if exc.args else ""
    if isinstance(detail, dict) and "error" in detail:
        message = detail["error"]
        if isinstance(message, dict):  # an in-stream error: {"code", "message"}
            message = message.get("message", message)
        code = detail.get("code")
        detail = f"{message} ({code})" if code is not None else str(message)
    return f"{type(exc).__name__}: {detail}"


def run(launch: Launch, environ: MutableMapping[str, str] = os.environ) -> int:
    """Configure `disruptive` for Conduit and run `dt` with `launch.dt_args`; its exit status."""
    require_cli()
    if launch.credentials is not None:
        environ["DT_CREDENTIALS_FILE"] = str(launch.credentials)
    # Only now may `disruptive` be imported (`dtcli` imports it too): it reads the variable above.
    already_imported = "disruptive" in sys.modules
    disruptive: Any = importlib.import_module("disruptive")
    if already_imported and launch.credentials is not None:  # it read other credentials back then
        disruptive.default_auth = disruptive.Auth.init()
    disruptive.base_url = launch.api_url
    disruptive.emulator_base_url = launch.api_url
    fix_shared_page_token(importlib.import_module("disruptive.requests").DTRequest)
    errors = importlib.import_module("disruptive.errors")
    cli = importlib.import_module("dtcli.cli")

    saved_argv = sys.argv
    sys.argv = [PROG, *launch.dt_args]  # the CLI parses sys.argv itself
    try:
        cli.entry_point()
    except errors.ConnectionError as exc:
        print(
            f"{PROG}: {_error_text(exc)} — is Conduit running at {launch.api_url}?", file=sys.stderr
        )
        return 1
    except errors.Unauthorized as exc:
        if isinstance(disruptive.default_auth, disruptive.authentication.Unauthenticated):
            # disruptive's own text explains DT Cloud's environment variables, not Conduit's files
            print(f"{PROG}: Unauthorized: {NO_CREDENTIALS}", file=sys.stderr)
        else:
            print(f"{PROG}: {_error_text(exc)}", file=sys.stderr)
        return 1
    except errors.DTApiError as exc:
        print(f"{PROG}: {_error_text(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        sys.argv = saved_argv
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: `dt`'s own; 1 for an API error; 2 for a problem with the launcher's inputs."""
    try:
        launch = resolve(sys.argv[1:] if argv is None else argv, os.environ)
        return run(launch)
    except LaunchError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
