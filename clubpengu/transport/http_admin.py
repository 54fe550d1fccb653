"""The admin API for economy admins (bearer JWT with the admin role; analysts may read).

Every write names the admin in the ledger (`actor: admin:<wallet>`) and requires a reason
and an idempotency key, so a retried or double-submitted grant applies once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clubpengu.errors import InvalidMessage, NotFound
from clubpengu.models import Transaction
from clubpengu.models.base import utcnow
from clubpengu.node import Node
from clubpengu.services import staff
from clubpengu.services.auth import SessionInfo, decode_wallet
from clubpengu.services.staff import iso
from clubpengu.transport.http import node_of
from clubpengu.transport.http_auth import bearer_session, json_body
from clubpengu.transport.http_errors import parse_body

READERS = frozenset({"admin", "analyst"})
WRITERS = frozenset({"admin"})
MAX_PAGE = 200


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CoinAdjustment(_Body):
    wallet_address: str = Field(min_length=32, max_length=44)
    amount: int = Field(strict=True)
    reason: str = Field(min_length=3, max_length=200)
    idempotency_key: str = Field(min_length=1, max_length=64)


class Revocation(_Body):
    reason: str = Field(min_length=3, max_length=200)


class NewPromo(_Body):
    code: str
    coins: int = Field(default=0, strict=True)
    items: list[str] = Field(default_factory=list, max_length=20)
    max_redemptions: int = Field(strict=True)
    expires_at: datetime | None = None
    active: bool = True


Handler = Callable[[Request, Node, SessionInfo], Awaitable[Any]]


def endpoint(
    roles: frozenset[str], handler: Handler
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """Authenticate (a session with one of `roles`), run, answer JSON. Errors are the
    app's DomainError handler's (transport/http_errors.py)."""

    async def endpoint(request: Request) -> JSONResponse:
        node = node_of(request)
        session = await bearer_session(request, node.services.auth, roles)
        return JSONResponse(await handler(request, node, session))

    return endpoint


def _actor(session: SessionInfo) -> str:
    return f"admin:{session.wallet}"


async def adjust_coins(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(CoinAdjustment, await json_body(request))
    if decode_wallet(body.wallet_address) is None:
        raise InvalidMessage("walletAddress: not a Solana wallet address")
    result = await node.services.economy.apply(
        body.wallet_address,
        body.amount,
        "admin_adjustment",
        idempotency_key=f"admin:{body.idempotency_key}",
        actor=_actor(session),
        reason=body.reason,
        proof={"admin": session.wallet},
    )
    return {
        "walletAddress": body.wallet_address,
        "balance": result.balance,
        "delta": result.delta,
        "transactionId": result.transaction_id,
        "replayed": result.replayed,
    }


async def get_user(request: Request, node: Node, session: SessionInfo) -> Any:
    record = await staff.player_record(request.path_params["wallet"], utcnow())
    if record is None:
        raise NotFound("No player with that wallet")
    return record


async def revoke_sessions(request: Request, node: Node, session: SessionInfo) -> Any:
    """End every session of a player: tokens stop working, and the live connection is
    closed with 4003 on whichever node holds it."""
    wallet = request.path_params["wallet"]
    body = parse_body(Revocation, await json_body(request))
    reason = f"admin:{session.wallet}: {body.reason}"
    revoked = await node.services.auth.revoke_wallet(wallet, reason)
    for session_id in revoked:
        await node.realtime.sessions.revoke(session_id)
    return {"walletAddress": wallet, "revoked": len(revoked)}


def _entry(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(doc["_id"]),
        "walletAddress": doc["walletAddress"],
        "amount": doc["amount"],
        "balanceAfter": doc["balanceAfter"],
        "type": doc["type"],
        "reason": doc.get("reason"),
        "proof": doc.get("proof", {}),
        "actor": doc.get("actor"),
        "counterpartyWallet": doc.get("counterpartyWallet"),
        "createdAt": iso(doc.get("createdAt")),
    }


async def list_transactions(request: Request, node: Node, session: SessionInfo) -> Any:
    """Newest first; `before` is the `next` cursor of the previous page."""
    params = request.query_params
    query: dict[str, Any] = {}
    if params.get("wallet"):
        query["walletAddress"] = params["wallet"]
    if params.get("type"):
        query["type"] = params["type"]
    if params.get("before"):
        try:
            query["_id"] = {"$lt": ObjectId(params["before"])}
        except InvalidId:
            raise InvalidMessage("before: not a cursor from `next`") from None
    try:
        limit = int(params.get("limit", "50"))
    except ValueError:
        raise InvalidMessage("limit: expected a number") from None
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidMessage(f"limit: between 1 and {MAX_PAGE}")
    cursor = Transaction.get_pymongo_collection().find(query).sort("_id", -1).limit(limit + 1)
    docs = await cursor.to_list()
    page = [_entry(doc) for doc in docs[:limit]]
    more = len(docs) > limit
    return {"transactions": page, "next": page[-1]["id"] if more and page else None}


async def create_promo(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(NewPromo, await json_body(request))
    promo = await node.services.promos.create(
        body.code,
        coins=body.coins,
        items=body.items,
        max_redemptions=body.max_redemptions,
        expires_at=body.expires_at,
        active=body.active,
        created_by=_actor(session),
    )
    return {"promo": promo.public()}


async def list_promos(request: Request, node: Node, session: SessionInfo) -> Any:
    return {"promos": [promo.public() for promo in await node.services.promos.list()]}


def routes() -> list[Route]:
    return [
        Route("/admin/coins", endpoint(WRITERS, adjust_coins), methods=["POST"]),
        Route("/admin/users/{wallet}", endpoint(READERS, get_user), methods=["GET"]),
        Route("/admin/users/{wallet}/revoke", endpoint(WRITERS, revoke_sessions), methods=["POST"]),
        Route("/admin/transactions", endpoint(READERS, list_transactions), methods=["GET"]),
        Route("/admin/promos", endpoint(WRITERS, create_promo), methods=["POST"]),
        Route("/admin/promos", endpoint(READERS, list_promos), methods=["GET"]),
    ]
