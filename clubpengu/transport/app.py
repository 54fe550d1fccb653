"""The Starlette app of one node: its routes, middleware and error handlers, and a
lifespan that builds the node (clubpengu/node.py), gives the routes what they serve, and
starts and stops it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from clubpengu.config import Settings
from clubpengu.errors import DomainError
from clubpengu.models.base import utcnow
from clubpengu.node import build_node
from clubpengu.parts import Clock
from clubpengu.transport import render
from clubpengu.transport.dispatch import build_router
from clubpengu.transport.edge import EdgeGuard
from clubpengu.transport.http import health
from clubpengu.transport.http_admin import routes as admin_routes
from clubpengu.transport.http_auth import post_challenge, post_logout, post_verify
from clubpengu.transport.http_economy import routes as economy_routes
from clubpengu.transport.http_errors import http_domain_error
from clubpengu.transport.http_leaderboards import routes as leaderboard_routes
from clubpengu.transport.http_metrics import metrics_route
from clubpengu.transport.http_moderation import routes as moderation_routes
from clubpengu.transport.http_privacy import routes as privacy_routes
from clubpengu.transport.http_staff import routes as staff_routes
from clubpengu.transport.http_stamps import routes as stamp_routes
from clubpengu.transport.outage import OUTAGE_ERRORS, http_unavailable
from clubpengu.transport.pages import routes as page_routes
from clubpengu.transport.security import SecurityHeaders
from clubpengu.transport.socket_access import ExposeSocket
from clubpengu.transport.ws import Sockets, websocket_endpoint

logger = logging.getLogger(__name__)


def build_app(
    settings: Settings,
    client: AsyncMongoClient[dict[str, Any]] | None = None,
    *,
    clock: Clock = utcnow,
) -> Starlette:
    """The app of one node. `client` (tests share one) is used instead of connecting, and
    is not closed on shutdown. `clock` (tests and scripts/farm_sim.py only; never a
    setting) replaces the wall clock for every service, so simulated days pass at once."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        node = await build_node(settings, client, render=render.notice, clock=clock)
        router = build_router(node)
        app.state.node = node
        app.state.sockets = Sockets.of(node, router)
        await node.start()
        logger.info("node started", extra={"node": settings.node_id})
        try:
            yield
        finally:
            await node.stop()
            logger.info("node stopped", extra={"node": settings.node_id})

    routes = [
        Route("/health", health, methods=["GET"]),
        *metrics_route(settings),
        Route("/auth/challenge", post_challenge, methods=["POST"]),
        Route("/auth/verify", post_verify, methods=["POST"]),
        Route("/auth/logout", post_logout, methods=["POST"]),
        WebSocketRoute("/ws", websocket_endpoint),
        *admin_routes(),
        *moderation_routes(),
        *privacy_routes(),
        *staff_routes(),
        *economy_routes(),
        *leaderboard_routes(),
        *stamp_routes(),
        *page_routes(),
    ]
    edge = Middleware(
        EdgeGuard,
        allowed_origins=settings.allowed_origins,
        trusted_proxies=settings.trusted_proxies,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.http_body_timeout,
    )
    middleware = [Middleware(SecurityHeaders), edge, Middleware(ExposeSocket)]
    # A refusal is its code and status; a database out of reach is a 503 `unavailable`
    # on every HTTP route, not a bare 500.
    handlers: dict[Any, Any] = {DomainError: http_domain_error}
    handlers |= dict.fromkeys(OUTAGE_ERRORS, http_unavailable)
    return Starlette(
        routes=routes, lifespan=lifespan, middleware=middleware, exception_handlers=handlers
    )
