"""The browser pages: `/play` (the playground, a reference client of docs/protocol.md) and
`/console` (the staff console), served from the package's static files with no build step.

Each page is a plain HTML file that loads ES modules from `/static/`; `/client-config`
tells them what this server allows (development keys only outside production).
`/docs/protocol.md` is the protocol document itself, as Markdown, for the playground to
link and a client developer to read against the server they talk to.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from clubpengu.transport.http import node_of
from clubpengu.transport.security import PAGE_CSP

STATIC = Path(str(resources.files("clubpengu") / "static"))
_PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"}
# An image (the Dockerfile) puts a copy in the package; a source checkout has docs/ beside it.
PROTOCOL_DOCUMENTS = (
    STATIC / "docs" / "protocol.md",
    Path(__file__).resolve().parents[2] / "docs" / "protocol.md",
)


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


async def protocol_document(request: Request) -> Response:
    for path in PROTOCOL_DOCUMENTS:
        if path.is_file():
            return FileResponse(
                path,
                media_type="text/markdown; charset=utf-8",
                headers={"Cache-Control": "no-cache"},
            )
    return PlainTextResponse(
        "This installation carries no copy of the protocol document (docs/protocol.md).",
        status_code=404,
    )


async def favicon(request: Request) -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=308)


def routes() -> list[BaseRoute]:
    return [
        _page("play"),
        _page("console"),
        Route("/client-config", client_config, methods=["GET"]),
        Route("/docs/protocol.md", protocol_document, methods=["GET", "HEAD"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
