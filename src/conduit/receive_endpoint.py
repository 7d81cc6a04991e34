"""`conduit receive`: a local endpoint that verifies every push and pretty-prints it.

For trying a connector out, and for debugging one: point a Data Connector at it (`--allow-network`
must include its address), and each push is checked exactly as `conduit.receiver.verify_push` checks
it — signature, expiry, body checksum — then shown. A push that fails verification is answered 401
(400 when it is authentic but not a push), so the sender counts a failed attempt and retries it, as
it would against a real receiver that rejects it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import warnings
from datetime import UTC, datetime
from typing import TextIO

from aiohttp import web
from jwt.warnings import InsecureKeyLengthWarning

from conduit.receiver import MalformedPush, Push, PushVerificationError, verify_push


class ReceiveEndpoint:
    def __init__(self, secret: str | None, out: TextIO = sys.stdout) -> None:
        self.secret = secret or None
        self.out = out
        self.received = 0
        self.rejected = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            push = verify_push(list(request.headers.items()), body, self.secret)
        except PushVerificationError as exc:
            self.rejected += 1
            self._print(f"REJECTED {request.method} {request.path_qs}: {exc}")
            status = 400 if isinstance(exc, MalformedPush) else 401
            return web.json_response({"error": str(exc)}, status=status)
        self.received += 1
        self._show(push)
        return web.json_response({})

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(text="conduit receive: POST pushes to any path here\n")

    def _show(self, push: Push) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        check = f"verified, jti {push.claims.get('jti')}" if push.claims else "NOT verified"
        header = f"push #{self.received}  {now}  {push.event_type}  {push.event_id}  ({check})"
        document = {"event": push.event, "labels": push.labels, "metadata": push.metadata}
        self._print(f"{header}\n{json.dumps(document, indent=2, ensure_ascii=False)}")

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def application(endpoint: ReceiveEndpoint) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/", endpoint.index)
    app.router.add_post("/{tail:.*}", endpoint.handle)
    return app


async def run(host: str, port: int, secret: str | None) -> None:
    # DT-style secrets are often shorter than the 32 bytes PyJWT recommends; saying so on every push
    # would drown the output (the advice is in the docs instead).
    warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
    endpoint = ReceiveEndpoint(secret)
    runner = web.AppRunner(application(endpoint), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    mode = "verifying signatures" if endpoint.secret else "WITHOUT a secret: nothing is verified"
    print(f"conduit receive: listening on http://{host}:{port}/ ({mode})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        print(
            f"conduit receive: stopped after {endpoint.received} pushes"
            f" ({endpoint.rejected} rejected)",
            flush=True,
        )
