"""`GET /metrics`: the Prometheus text exposition of this node (clubpengu/metrics/).

It names no wallet, IP, token or secret, but it is for the operators' Prometheus only:
deploy/haproxy.cfg refuses /metrics from outside, and scrapers reach each node directly
on the private network. With METRICS_ENABLED=false there is no route (404)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clubpengu.config import Settings
from clubpengu.metrics import CONTENT_TYPE
from clubpengu.transport.http import node_of


async def metrics(request: Request) -> Response:
    return Response(await node_of(request).metrics.exposition(), media_type=CONTENT_TYPE)


def metrics_route(settings: Settings) -> list[BaseRoute]:
    return [Route("/metrics", metrics, methods=["GET"])] if settings.metrics_enabled else []
