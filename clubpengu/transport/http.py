"""HTTP routes: `/health` (seed 000 §7.1), and how a route finds the node it serves."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from clubpengu.node import Node


def node_of(request: Request) -> Node:
    """The node this app serves (set by the app's lifespan). A route reads from it only
    the parts it uses."""
    node: Node = request.app.state.node
    return node


async def health(request: Request) -> JSONResponse:
    """200 `healthy` when every dependency answers, else 503 `degraded` (the check is
    clubpengu/monitors.py's, which also runs it periodically for the metrics)."""
    healthy, body = await node_of(request).health.check()
    return JSONResponse(body, status_code=200 if healthy else 503)
