"""The staff API of trust and safety (docs/protocol.md §8, docs/moderation.md): bans and
mutes, the report queue, the audit trail, finding players, and who the caller is.

Moderators and admins act; analysts read the queue and the audit; the role is the
wallet's in this node's configuration at each request. Thin: parse, call a service, JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.routing import Route

from clubpengu.errors import InvalidMessage
from clubpengu.models.base import utcnow
from clubpengu.node import Node
from clubpengu.services import staff
from clubpengu.services.auth import SessionInfo
from clubpengu.transport.http_admin import (
    MODERATORS,
    READERS,
    STAFF,
    StaffBody,
    endpoint,
    staff_of,
)
from clubpengu.transport.http_auth import json_body
from clubpengu.transport.http_errors import parse_body

# Reasons and notes are checked by the services (3-200 and at most 1000 characters);
# these bounds only limit what is parsed.
_TEXT = 2000


class SanctionBody(StaffBody):
    reason: str = Field(max_length=_TEXT)
    duration: str | None  # required: null is "until lifted", never a forgotten field
    note: str | None = Field(default=None, max_length=_TEXT)


class LiftBody(StaffBody):
    reason: str = Field(max_length=_TEXT)


class ResolveBody(StaffBody):
    action: Literal["dismiss", "mute", "ban"]
    reason: str = Field(max_length=_TEXT)
    duration: str | None = None


def _limit(request: Request, default: int) -> int:
    try:
        return int(request.query_params.get("limit", str(default)))
    except ValueError:
        raise InvalidMessage("limit: expected a number") from None


async def ban(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(SanctionBody, await json_body(request))
    outcome = await node.services.moderation.ban(
        staff_of(session), request.path_params["wallet"], body.reason, body.duration, body.note
    )
    return outcome.public()


async def unban(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(LiftBody, await json_body(request))
    wallet = request.path_params["wallet"]
    outcome = await node.services.moderation.unban(staff_of(session), wallet, body.reason)
    return outcome.public()


async def mute(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(SanctionBody, await json_body(request))
    outcome = await node.services.moderation.mute(
        staff_of(session), request.path_params["wallet"], body.reason, body.duration, body.note
    )
    return outcome.public()


async def unmute(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(LiftBody, await json_body(request))
    wallet = request.path_params["wallet"]
    outcome = await node.services.moderation.unmute(staff_of(session), wallet, body.reason)
    return outcome.public()


async def list_reports(request: Request, node: Node, session: SessionInfo) -> Any:
    """`?status=open|resolved` (default open), newest first, each with its chat context."""
    params = request.query_params
    page = await node.services.reports.page(
        params.get("status", "open"), before=params.get("before"), limit=_limit(request, 20)
    )
    return {"reports": page.reports, "next": page.next}


async def resolve_report(request: Request, node: Node, session: SessionInfo) -> Any:
    body = parse_body(ResolveBody, await json_body(request))
    if body.action != "dismiss" and "duration" not in body.model_fields_set:
        raise InvalidMessage("duration: required to mute or ban (null: until lifted)")
    report = await node.services.reports.resolve(
        staff_of(session), request.path_params["id"], body.action, body.reason, body.duration
    )
    return {"report": report}


async def audit(request: Request, node: Node, session: SessionInfo) -> Any:
    """`?actor=&target=&action=&before=&limit=`, newest first."""
    params = request.query_params
    page = await node.services.audit.page(
        actor=params.get("actor"),
        target=params.get("target"),
        action=params.get("action"),
        before=params.get("before"),
        limit=_limit(request, 50),
    )
    return {"entries": page.entries, "next": page.next}


async def search_users(request: Request, node: Node, session: SessionInfo) -> Any:
    """`?q=` a wallet prefix or a name prefix (any case); `?limit=&before=`."""
    params = request.query_params
    users, following = await staff.search_players(
        params.get("q", ""), _limit(request, 20), params.get("before"), utcnow()
    )
    return {"users": users, "next": following}


async def me(request: Request, node: Node, session: SessionInfo) -> Any:
    """The caller's wallet and role in this node's configuration now: what a console
    shows (the token's `role` claim is only what it was at sign-in)."""
    return {"walletAddress": session.wallet, "role": session.role}


def routes() -> list[Route]:
    return [
        Route("/admin/me", endpoint(STAFF, me), methods=["GET"]),
        Route("/admin/users", endpoint(STAFF, search_users), methods=["GET"]),
        Route("/admin/users/{wallet}/ban", endpoint(MODERATORS, ban), methods=["POST"]),
        Route("/admin/users/{wallet}/unban", endpoint(MODERATORS, unban), methods=["POST"]),
        Route("/admin/users/{wallet}/mute", endpoint(MODERATORS, mute), methods=["POST"]),
        Route("/admin/users/{wallet}/unmute", endpoint(MODERATORS, unmute), methods=["POST"]),
        Route("/admin/reports", endpoint(STAFF, list_reports), methods=["GET"]),
        Route(
            "/admin/reports/{id}/resolve", endpoint(MODERATORS, resolve_report), methods=["POST"]
        ),
        Route("/admin/audit", endpoint(READERS, audit), methods=["GET"]),
    ]
