"""Staff routes for a player's data (docs/privacy.md): the export (admins; streamed and
audited), the erasure (admins; audited), and the player's connection history and devices
(every staff role, for the console)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from clubpengu.errors import InvalidMessage
from clubpengu.node import Node
from clubpengu.services import connection_history, data_export
from clubpengu.services.auth import SessionInfo, decode_wallet
from clubpengu.services.erasure import Action, public_job
from clubpengu.transport.http import node_of
from clubpengu.transport.http_admin import STAFF, WRITERS, Revocation, endpoint, staff_of
from clubpengu.transport.http_auth import bearer_session, json_body
from clubpengu.transport.http_errors import parse_body


def _wallet(request: Request) -> str:
    wallet: str = request.path_params["wallet"]
    if decode_wallet(wallet) is None:
        raise InvalidMessage("wallet: not a Solana wallet address")
    return wallet


async def export(request: Request) -> StreamingResponse:
    """The wallet's data as one JSON document (services/data_export.py), streamed."""
    node = node_of(request)
    session = await bearer_session(request, node.services.auth, WRITERS)
    wallet = _wallet(request)
    staff = staff_of(session)
    await node.services.audit.record(
        staff.actor, staff.role, Action.EXPORT, wallet, "staff export", source=staff.source
    )
    db = node.client[node.settings.mongodb_db]
    now = node.services.exports.clock()

    async def body() -> AsyncIterator[bytes]:
        async for chunk in data_export.chunks(db, wallet, now):
            yield chunk.encode()

    disposition = f'attachment; filename="clubpengu-export-{wallet}.json"'
    return StreamingResponse(
        body(), media_type="application/json", headers={"content-disposition": disposition}
    )


async def erase(request: Request, node: Node, session: SessionInfo) -> Any:
    """Erase at once: sessions revoked, connections closed, data deleted or pseudonymised."""
    wallet = _wallet(request)
    body = parse_body(Revocation, await json_body(request))
    job = await node.services.erasure.erase_now(staff_of(session), wallet, body.reason)
    return {"job": public_job(job)}


async def list_connections(request: Request, node: Node, session: SessionInfo) -> Any:
    params = request.query_params
    try:
        limit = int(params.get("limit", "50"))
    except ValueError:
        raise InvalidMessage("limit: expected a number") from None
    page, following = await connection_history.connections(
        _wallet(request), limit, params.get("before")
    )
    return {"connections": page, "next": following}


async def list_devices(request: Request, node: Node, session: SessionInfo) -> Any:
    return {"devices": await connection_history.devices(_wallet(request))}


def routes() -> list[Route]:
    return [
        Route("/admin/users/{wallet}/export", export, methods=["GET"]),
        Route("/admin/users/{wallet}/erase", endpoint(WRITERS, erase), methods=["POST"]),
        Route(
            "/admin/users/{wallet}/connections",
            endpoint(STAFF, list_connections),
            methods=["GET"],
        ),
        Route("/admin/users/{wallet}/devices", endpoint(STAFF, list_devices), methods=["GET"]),
    ]
