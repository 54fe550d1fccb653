"""HTTP routes: `/health` (seed 000 §7.1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from clubpengu.transport.http_auth import node_of


async def health(request: Request) -> JSONResponse:
    """200 `healthy` when every dependency answers, else 503 `degraded` (the check is
    clubpengu/monitors.py's, which also runs it periodically for the metrics)."""
    healthy, body = await node_of(request).health.check()
    return JSONResponse(body, status_code=200 if healthy else 503)
