"""The admin API for economy admins (bearer JWT with the admin role; analysts may read;
moderators may read players).

The role is the wallet's in this node's configuration at each request (never the
token's). Every write is audited (services/audit.py); a coin adjustment also names the
admin in the ledger (`actor: admin:<wallet>`) and requires a reason and an idempotency
key, so a retried or double-submitted grant applies once.
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
from clubpengu.services import staff, staff_actions
from clubpengu.services.audit import STAFF_API, Staff
from clubpengu.services.auth import Role, SessionInfo, decode_wallet
from clubpengu.services.staff import iso
from clubpengu.transport.http import node_of
from clubpengu.transport.http_auth import bearer_session, json_body
from clubpengu.transport.http_errors import parse_body

# Who may call what (docs/protocol.md §8): admins everything; moderators bans, mutes,
# reports and reading players; analysts every read.
WRITERS = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.ANALYST})
MODERATORS = frozenset({Role.ADMIN, Role.MODERATOR})
STAFF = frozenset({Role.ADMIN, Role.MODERATOR, Role.ANALYST})
MAX_PAGE = 200


class StaffBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CoinAdjustment(StaffBody):
    wallet_address: str = Field(min_length=32, max_length=44)
    amount: int = Field(strict=True)
    reason: str = Field(min_length=3, max_length=200)
    idempotency_key: str = Field(min_length=1, max_length=64)


class Revocation(StaffBody):
    reason: str = Field(min_length=3, max_length=200)


class NewPromo(StaffBody):
    code: str
    coins: int = Field(default=0, strict=True)
    items: list[str] = Field(default_factory=list, max_length=20)
    max_redemptions: int = Field(strict=True)
    expires_at: datetime | None = None
    active: bool = True


class PromoChanges(StaffBody):
    active: bool | None = Field(default=None, strict=True)
    expires_at: datetime | None = None
    max_redemptions: int | None = Field(default=None, strict=True)
    reason: str | None = Field(default=None, min_length=3, max_length=200)


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


def staff_of(session: SessionInfo) -> Staff:
    """Who acts, for the audit: the wallet and the role it has in the configuration now."""
    return Staff(session.wallet, session.role, STAFF_API)


async def adjust_coins(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(CoinAdjustment, await json_body(request))
    if decode_wallet(body.wallet_address) is None:
        raise InvalidMessage("walletAddress: not a Solana wallet address")
    result = await staff_actions.adjust_coins(
        node.services.economy,
        node.services.audit,
        staff_of(session),
        body.wallet_address,
        body.amount,
        body.reason,
        f"admin:{body.idempotency_key}",
        ledger_actor=_actor(session),
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
    wallet = request.path_params["wallet"]
    record = await staff.player_record(wallet, utcnow())
    if record is None:
        raise NotFound("No player with that wallet")
    record["moderationHistory"] = await node.services.moderation.history(wallet)
    return record


async def revoke_sessions(request: Request, node: Node, session: SessionInfo) -> Any:
    """End every session of a player: tokens stop working, and the live connection is
    closed with 4003 on whichever node holds it."""
    wallet = request.path_params["wallet"]
    body = parse_body(Revocation, await json_body(request))
    revoked = await node.services.moderation.revoke_sessions(staff_of(session), wallet, body.reason)
    return {"walletAddress": wallet, "revoked": revoked}


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
        staff=staff_of(session),
    )
    return {"promo": promo.public()}


async def update_promo(request: Request, node: Node, session: SessionInfo) -> Any:
    """Switch a code off or on, change its expiry (null: never) or its maximum."""
    body = parse_body(PromoChanges, await json_body(request))
    changes = body.model_dump(include=body.model_fields_set - {"reason"})
    before, after = await node.services.promos.update(
        request.path_params["code"], staff_of(session), body.reason, changes
    )
    return {"promo": after.public(), "before": before.public()}


async def list_promos(request: Request, node: Node, session: SessionInfo) -> Any:
    return {"promos": [promo.public() for promo in await node.services.promos.list()]}


def routes() -> list[Route]:
    return [
        Route("/admin/coins", endpoint(WRITERS, adjust_coins), methods=["POST"]),
        Route("/admin/users/{wallet}", endpoint(STAFF, get_user), methods=["GET"]),
        Route("/admin/users/{wallet}/revoke", endpoint(WRITERS, revoke_sessions), methods=["POST"]),
        Route("/admin/transactions", endpoint(READERS, list_transactions), methods=["GET"]),
        Route("/admin/promos", endpoint(WRITERS, create_promo), methods=["POST"]),
        Route("/admin/promos", endpoint(READERS, list_promos), methods=["GET"]),
        Route("/admin/promos/{code}", endpoint(WRITERS, update_promo), methods=["PATCH"]),
    ]
