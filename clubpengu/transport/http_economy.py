"""Staff routes of the farm-proof economy: the review queue of held migrations (admins
decide, analysts may read) and the collusion view. Thin: parse, call a service, answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.routing import Route

from clubpengu.errors import InvalidMessage
from clubpengu.models.base import utcnow
from clubpengu.node import Node
from clubpengu.services import collusion
from clubpengu.services.auth import SessionInfo
from clubpengu.services.migration_review import Decision
from clubpengu.transport.http_admin import READERS, STAFF, WRITERS, endpoint
from clubpengu.transport.http_auth import json_body
from clubpengu.transport.http_errors import parse_body
from clubpengu.transport.http_staff import parse_window

DEFAULT_PAGE = 50
SUSPICIOUS_WINDOW = "7d"


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=200)


def _limit(request: Request) -> int:
    try:
        return int(request.query_params.get("limit", str(DEFAULT_PAGE)))
    except ValueError:
        raise InvalidMessage("limit: expected a number") from None


async def list_claims(request: Request, node: Node, session: SessionInfo) -> Any:
    """Newest first; `?status=pending|applied|approved|rejected`, `before` = `next`."""
    params = request.query_params
    claims, after = await node.services.migration_review.claims(
        params.get("status") or None, params.get("before") or None, _limit(request)
    )
    return {"claims": claims, "next": after}


def _answer(decision: Decision) -> dict[str, Any]:
    return {"claim": decision.claim, "replayed": decision.replayed}


async def approve(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(Verdict, await json_body(request))
    decision = await node.services.migration_review.approve(
        request.path_params["claim_id"], session.wallet, session.role, body.reason
    )
    return _answer(decision)


async def reject(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(Verdict, await json_body(request))
    decision = await node.services.migration_review.reject(
        request.path_params["claim_id"], session.wallet, session.role, body.reason
    )
    return _answer(decision)


async def suspicious(request: Request, node: Node, session: SessionInfo) -> Any:
    """Lopsided pairs, wallets funded by others' losses, held and rejected migrations over
    `?window=` (default 7d, at most 31d)."""
    text = request.query_params.get("window", SUSPICIOUS_WINDOW)
    window: timedelta = parse_window(text)
    now = utcnow()
    db = node.client[node.settings.mongodb_db]
    found = await collusion.suspicious(db, now - window, now)
    return {"window": text, "since": (now - window).isoformat(), "at": now.isoformat(), **found}


def routes() -> list[Route]:
    return [
        Route("/admin/migrations", endpoint(READERS, list_claims), methods=["GET"]),
        Route("/admin/migrations/{claim_id}/approve", endpoint(WRITERS, approve), methods=["POST"]),
        Route("/admin/migrations/{claim_id}/reject", endpoint(WRITERS, reject), methods=["POST"]),
        Route("/admin/economy/suspicious", endpoint(STAFF, suspicious), methods=["GET"]),
    ]
