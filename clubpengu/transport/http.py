"""HTTP routes: `/health` (seed 000 §7.1)."""

from __future__ import annotations

import logging

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


async def health(request: Request) -> JSONResponse:
    """200 `healthy` when every dependency answers, else 503 `degraded`."""
    runtime: Runtime = request.app.state.runtime
    database = await _database_status(runtime)
    redis = await _redis_status(runtime)
    healthy = database == "ok" and redis in {"ok", "disabled"} and not runtime.shutting_down
    body = {
        "status": "healthy" if healthy else "degraded",
        "database": database,
        "redis": redis,
        "connections": len(runtime.connections),
        "uptime": round(runtime.uptime, 3),
        "node": runtime.settings.node_id,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
