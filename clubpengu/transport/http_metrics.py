"""`GET /metrics`: the Prometheus text exposition of this node (clubpengu/metrics/).

It names no wallet, IP, token or secret, but it is for the operators' Prometheus only: it
shows, say, how close the process is to its file limit. deploy/haproxy.cfg refuses
/metrics from outside, scrapers reach each node directly on the private network, and with
METRICS_TOKEN set it also asks for `Authorization: Bearer <METRICS_TOKEN>` (401 without),
wherever it is reached from. With METRICS_ENABLED=false there is no route (404)."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clubpengu.config import Settings
from clubpengu.errors import NotAuthenticated
from clubpengu.metrics import CONTENT_TYPE
from clubpengu.transport.http import node_of


async def metrics(request: Request) -> Response:
    node = node_of(request)
    token = node.settings.metrics_token
    if token is not None and not _bearer_matches(request, token):
        raise NotAuthenticated("Send Authorization: Bearer <METRICS_TOKEN>")
    return Response(await node.metrics.exposition(), media_type=CONTENT_TYPE)


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    # Compared in constant time: the token is a secret.
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


def metrics_route(settings: Settings) -> list[BaseRoute]:
    return [Route("/metrics", metrics, methods=["GET"])] if settings.metrics_enabled else []
