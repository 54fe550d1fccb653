"""`GET /stamps`: the stamp catalogue, public (no sign-in), with the body of the WebSocket
`stamps` reply. It changes only with a deploy, so caches may keep it a while."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clubpengu.transport import render
from clubpengu.transport.http import node_of

# An hour: a deploy's new stamps reach a cached page within that, and a stamp earned
# meanwhile arrives in full with `stamp_earned` anyway.
CACHE_CONTROL = "public, max-age=3600"


async def get_stamps(request: Request) -> JSONResponse:
    catalog = node_of(request).services.stamps.catalog
    return JSONResponse(render.stamps(catalog), headers={"Cache-Control": CACHE_CONTROL})


def routes() -> list[Route]:
    return [Route("/stamps", get_stamps, methods=["GET"])]
