"""HTTP routes: `/health` (seed 000 §7.1)."""

from __future__ import annotations

import logging
from typing import Any

import pymongo
from pymongo.errors import PyMongoError
from starlette.requests import Request
from starlette.responses import JSONResponse

from clubpengu.runtime import Runtime

logger = logging.getLogger(__name__)
HEALTH_DB_TIMEOUT = 1.5


async def _database_status(runtime: Runtime) -> str:
    try:
        with pymongo.timeout(HEALTH_DB_TIMEOUT):
            await runtime.client.admin.command("ping")
    except PyMongoError:
        return "error"
    return "ok"


async def _redis_status(runtime: Runtime) -> str:
    """`disabled` with one node (no REDIS_URL); else whether other nodes can be reached.
    Without Redis the node still serves its own players, but reports itself degraded."""
    if runtime.settings.redis_url is None:
        return "disabled"
    return "ok" if await runtime.bus.healthy() else "error"


async def check_health(runtime: Runtime) -> tuple[bool, dict[str, Any]]:
    """Whether the node is healthy, and the /health body; the metrics' health gauges are
    set from it (here for every /health request, and by the periodic check,
    transport/monitors.py)."""
    database = await _database_status(runtime)
    redis = await _redis_status(runtime)
    healthy = database == "ok" and redis in {"ok", "disabled"} and not runtime.shutting_down
    runtime.metrics.health(healthy, database == "ok")
    body = {
        "status": "healthy" if healthy else "degraded",
        "database": database,
        "redis": redis,
        "connections": len(runtime.connections),
        "uptime": round(runtime.uptime, 3),
        "node": runtime.settings.node_id,
    }
    return healthy, body


async def health(request: Request) -> JSONResponse:
    """200 `healthy` when every dependency answers, else 503 `degraded`."""
    healthy, body = await check_health(request.app.state.runtime)
    return JSONResponse(body, status_code=200 if healthy else 503)
