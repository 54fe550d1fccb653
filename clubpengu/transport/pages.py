"""The browser pages: `/play` (the playground, a reference client of docs/protocol.md) and
`/console` (the staff console), served from the package's static files with no build step.

Each page is a plain HTML file that loads ES modules from `/static/`; `/client-config`
tells them what this server allows (development keys only outside production).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from clubpengu.transport.http import node_of
from clubpengu.transport.security import PAGE_CSP

STATIC = Path(str(resources.files("clubpengu") / "static"))
_PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"}


def _page(name: str) -> Route:
    path = STATIC / name / "index.html"

    async def page(request: Request) -> Response:
        return FileResponse(path, media_type="text/html", headers=_PAGE_HEADERS)

    return Route(f"/{name}", page, methods=["GET", "HEAD"], name=name)


async def client_config(request: Request) -> JSONResponse:
    """What the pages may offer. A development key is an ordinary ed25519 key made in the
    page, which the server cannot tell from a wallet; so in production the pages are told
    not to offer one, and say why."""
    settings = node_of(request).settings
    production = settings.production
    return JSONResponse(
        {
            "env": settings.env,
            "devKeys": not production,
            "devKeysRefusal": "Development keys are turned off on this server "
            "(CLUBPENGU_ENV=production): sign in with Phantom."
            if production
            else None,
        },
        headers={"Cache-Control": "no-store"},
    )


async def favicon(request: Request) -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=308)


def routes() -> list[BaseRoute]:
    return [
        _page("play"),
        _page("console"),
        Route("/client-config", client_config, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
