"""Builds the ASGI app and runs the background workers for exactly as long as it serves."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from conduit.api import routing
from conduit.api.errors import CatchUnexpected, on_api_error, on_http_exception, on_unexpected
from conduit.auth.secrets import SecretBox
from conduit.bootstrap import bootstrap
from conduit.clock import Clock, SystemClock
from conduit.config import Settings, env
from conduit.context import Context
from conduit.domain.errors import ApiError
from conduit.node_identity import claim_node_identity
from conduit.startup import check_server_key, secure_data_dir
from conduit.store import is_postgres, make_store
from conduit.workers import Worker

log = logging.getLogger("conduit")


def build_context(settings: Settings, clock: Clock | None = None) -> Context:
    clock = clock or SystemClock()
    secure_data_dir(settings.data_dir)
    secrets = SecretBox.load_or_create(settings.data_dir, env("SECRET_KEY"))
    node_id = (
        claim_node_identity(settings.data_dir) if is_postgres(settings.database_target) else None
    )
    store = make_store(settings.database_target, clock, node_id=node_id)
    return Context(
        settings=settings,
        store=store,
        clock=clock,
        secrets=secrets,
        signing_key=secrets.signing_key(),
    )


def build_workers(ctx: Context) -> list[Worker]:
    from conduit.delivery.dispatcher import Dispatcher
    from conduit.retention import RetentionPruner
    from conduit.stream_hub import StreamHub

    workers: list[Worker] = []
    if ctx.settings.runs_api:
        workers += [StreamHub(ctx), RetentionPruner(ctx)]
    if ctx.settings.runs_delivery:
        workers.append(Dispatcher(ctx))
    return workers


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    ctx = build_context(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ctx.store.open()
        try:
            await check_server_key(ctx.store, ctx.secrets)
            await bootstrap(ctx)
        except BaseException:
            await ctx.store.close()
            raise
        workers = build_workers(ctx)
        started: list[Worker] = []
        try:
            for worker in workers:
                await worker.start()
                started.append(worker)
            yield
        finally:
            for worker in reversed(started):
                try:
                    await worker.stop()
                except Exception:
                    log.exception("worker %s failed to stop cleanly", worker.name)
            await ctx.store.close()

    routes: list[BaseRoute] = (
        routing.all_routes() if settings.runs_api else routing.operator_routes()
    )
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(CatchUnexpected)],
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
    )
    app.state.ctx = ctx
    return app
