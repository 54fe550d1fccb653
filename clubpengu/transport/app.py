"""The Starlette app, built by a factory from Settings: routes, lifespan, wiring."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from clubpengu.config import Settings
from clubpengu.db import EmbeddedDatabase, init_models, make_client
from clubpengu.realtime.connection import Connection
from clubpengu.runtime import Runtime
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.promos import PromoService
from clubpengu.services.shop import ShopService
from clubpengu.transport.http import health
from clubpengu.transport.messages import Ping
from clubpengu.transport.router import Router
from clubpengu.transport.ws import websocket_endpoint

logger = logging.getLogger(__name__)


async def _ping(connection: Connection, message: Ping) -> dict[str, object]:
    return {"type": "pong", "ts": int(time.time() * 1000)}


def build_router(settings: Settings) -> Router:
    router = Router(settings.max_frame_bytes)
    router.add("ping", Ping, _ping, public=True)
    return router


async def start_runtime(
    settings: Settings, client: AsyncMongoClient[dict[str, Any]] | None = None
) -> Runtime:
    """Start the embedded database if no MONGODB_URI is set, connect, create indexes.

    A `client` passed in (tests share one across many apps) is used as is and not closed.
    The item catalogue is read first: a bad catalogue stops start-up before anything runs.
    """
    catalog = load_catalog()
    embedded = None
    owns_client = client is None
    if client is None:
        uri = settings.mongodb_uri
        if uri is None:
            embedded = EmbeddedDatabase(settings.data_dir)
            uri = embedded.start()
        client = make_client(settings, uri)
    try:
        await init_models(client, settings.mongodb_db)
    except BaseException:
        if owns_client:
            await client.close()
        if embedded:
            embedded.stop()
        raise
    # `notify` is left unset until the hub can route a `coins` frame to a wallet's live
    # connection (sign-in issue); the ledger itself does not depend on it.
    economy = EconomyService(
        client, settings.mongodb_db, daily_bonus_coins=settings.daily_bonus_coins
    )
    return Runtime(
        settings=settings,
        client=client,
        router=build_router(settings),
        economy=economy,
        shop=ShopService(client, settings.mongodb_db, economy, catalog),
        promos=PromoService(client, settings.mongodb_db, economy, catalog),
        embedded=embedded,
        owns_client=owns_client,
    )


async def stop_runtime(runtime: Runtime) -> None:
    runtime.shutting_down = True
    await runtime.connections.close_all(1001, "server shutting down")
    if runtime.owns_client:
        await runtime.client.close()
    if runtime.embedded is not None:
        runtime.embedded.stop()


def build_app(
    settings: Settings, client: AsyncMongoClient[dict[str, Any]] | None = None
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await start_runtime(settings, client)
        app.state.runtime = runtime
        logger.info("node started", extra={"node": settings.node_id})
        try:
            yield
        finally:
            await stop_runtime(runtime)
            logger.info("node stopped", extra={"node": settings.node_id})

    routes = [
        Route("/health", health, methods=["GET"]),
        WebSocketRoute("/ws", websocket_endpoint),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
