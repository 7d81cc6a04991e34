"""`conduit dead-letters` and `conduit replay`: the two Conduit extensions users reach for from a
shell, talking to a running server's REST API like any client (the official `dt` CLI does not know
them).

The server and credentials are found as `conduit dt` finds them (`--server`, `--credentials`,
`CONDUIT_SERVER`, `DT_CREDENTIALS_FILE`, `./conduit-data/credentials.json`), and the key signs in
with the same JWT-bearer grant as the official client, so any service account's key works.
Output is JSON (one dead letter per line, every page), errors are the API's own message on stderr
with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import jwt

from conduit.auth.tokens import GRANT_TYPE
from conduit.dtcli import LaunchError, read_credentials, resolve

TIMEOUT = 30.0  # seconds per request


class ApiError(Exception):
    """The server refused a request; the message is its `error` text."""


def add_commands(sub: Any) -> None:
    """The `dead-letters` and `replay` subcommands of `conduit`."""
    letters = sub.add_parser(
        "dead-letters", help="list a connector's dead letters (what left its queue undelivered)"
    )
    _common(letters)
    letters.add_argument("--reason", choices=("EXPIRED", "USER_DISABLED", "SYSTEM_DISABLED"))
    letters.add_argument("--start", help="RFC 3339: left the queue at or after this")
    letters.add_argument("--end", help="RFC 3339: left the queue before this")
    replay = sub.add_parser("replay", help="queue a window of a connector's events again")
    _common(replay)
    replay.add_argument("--start", required=True, help="RFC 3339 start of the window")
    replay.add_argument("--end", required=True, help="RFC 3339 end of the window (exclusive)")
    replay.add_argument(
        "--only-failed", action="store_true", help="only the connector's dead letters"
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="project id")
    parser.add_argument("connector", help="data connector id")
    parser.add_argument("--server", help="the Conduit server (default: the credentials' issuer)")
    parser.add_argument("--credentials", help="a DT credentials file")


def run(args: argparse.Namespace) -> int:
    try:
        client = _Client.from_args(args)
        item = f"projects/{args.project}/dataconnectors/{args.connector}"
        if args.command == "replay":
            body = {"startTime": args.start, "endTime": args.end, "onlyFailed": args.only_failed}
            print(json.dumps(client.call("POST", f"{item}:replay", body=body)))
            return 0
        query = {"reason": args.reason, "startTime": args.start, "endTime": args.end}
        token = ""
        while True:
            page = client.call(
                "GET", f"{item}/deadLetters", query={**query, "pageToken": token or None}
            )
            for letter in page["deadLetters"]:
                print(json.dumps(letter))
            token = page["nextPageToken"]
            if not token:
                return 0
    except (LaunchError, ApiError) as exc:
        print(f"conduit {args.command}: {exc}", file=sys.stderr)
        return 1


class _Client:
    def __init__(self, api_url: str, account: dict[str, Any]) -> None:
        self.api_url = api_url
        self.account = account
        self._token: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> _Client:
        flags = [
            f"--{name}={value}"
            for name in ("server", "credentials")
            if (value := getattr(args, name))
        ]
        launch = resolve(flags, os.environ)
        if launch.credentials is None:
            raise LaunchError(
                "no credentials: pass --credentials FILE (Conduit writes credentials.json to its"
                " data directory) or set DT_CREDENTIALS_FILE"
            )
        return cls(launch.api_url, read_credentials(launch.credentials))

    def token(self) -> str:
        if self._token is None:
            now = int(time.time())
            claims = {
                "iat": now,
                "exp": now + 3600,
                "aud": self.account["tokenEndpoint"],
                "iss": self.account["email"],
            }
            assertion = jwt.encode(
                claims,
                self.account["secret"],
                algorithm="HS256",
                headers={"kid": self.account["keyId"]},
            )
            form = urllib.parse.urlencode(
                {
                    "assertion": assertion,
                    "grant_type": GRANT_TYPE,
                }
            ).encode()
            answer = self._send(
                urllib.request.Request(self.account["tokenEndpoint"], data=form, method="POST")
            )
            self._token = str(answer["access_token"])
        return self._token

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        url = f"{self.api_url}/{path}"
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(
            url,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        return self._send(request)

    @staticmethod
    def _send(request: urllib.request.Request) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error") or exc.reason
            except ValueError:
                message = exc.reason
            raise ApiError(f"{exc.code}: {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"cannot reach {request.full_url}: {exc}") from None
