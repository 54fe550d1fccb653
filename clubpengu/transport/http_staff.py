"""Read-only staff routes behind the console (admins and analysts alike): the overview, the
ledger check and the analysts' report; and the match list (moderators too: it is about
players). Thin: parse the query, call services, answer JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from clubpengu.config import ConfigError, parse_duration
from clubpengu.errors import InvalidMessage
from clubpengu.models.base import utcnow
from clubpengu.node import Node
from clubpengu.realtime.census import connection_counts
from clubpengu.services import staff, staff_matches
from clubpengu.services.auth import SessionInfo, decode_wallet
from clubpengu.services.reconciliation import LedgerReport
from clubpengu.services.report import DEFAULT_REPORT_DAYS, default_range
from clubpengu.transport import render
from clubpengu.transport.http_admin import READERS, STAFF, endpoint

DEFAULT_WINDOW = "24h"
MAX_WINDOW = timedelta(days=31)
MAX_REPORT_DAYS = 366
MAX_MISMATCHES_LISTED = 100


def parse_window(text: str) -> timedelta:
    try:
        window = timedelta(seconds=parse_duration("window", text))
    except ConfigError as error:
        raise InvalidMessage(str(error)) from None
    if window > MAX_WINDOW:
        raise InvalidMessage("window: at most 31d")
    return window


async def overview(request: Request, node: Node, session: SessionInfo) -> Any:
    """This node's live connections, every room's instances and populations (the `rooms`
    listing), and the activity of the last `window`."""
    text = request.query_params.get("window", DEFAULT_WINDOW)
    window = parse_window(text)
    now = utcnow()
    db = node.client[node.settings.mongodb_db]
    activity = await staff.recent_activity(db, now - window, now)
    return {
        "node": node.settings.node_id,
        "at": now.isoformat(),
        "window": text,
        "since": (now - window).isoformat(),
        "connections": connection_counts(node.realtime.connections),
        "rooms": await node.realtime.hub.listing(),
        **activity,
    }


def _ledger(report: LedgerReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "users": report.users,
        "transactions": report.transactions,
        "seconds": round(report.seconds, 3),
        "mismatchCount": len(report.mismatches),
        "mismatches": [
            {
                "walletAddress": m.wallet,
                "balance": m.balance,
                "ledgerSum": m.ledger_sum,
                "entries": m.entries,
                "problem": m.problem,
            }
            for m in report.mismatches[:MAX_MISMATCHES_LISTED]
        ],
    }


async def verify_ledger(request: Request, node: Node, session: SessionInfo) -> Any:
    """`clubpengu ledger verify` over HTTP: a read, so analysts may run it too."""
    return _ledger(await node.services.economy.verify_ledger())


def _day(name: str, text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidMessage(f"{name}: expected a date like 2026-11-25") from None


def _report_range(request: Request) -> tuple[datetime, datetime]:
    params = request.query_params
    _, default_end = default_range(utcnow())
    end = _day("to", params["to"]) if params.get("to") else default_end
    if params.get("from"):
        start = _day("from", params["from"])
    elif end - datetime.min.replace(tzinfo=UTC) < timedelta(days=DEFAULT_REPORT_DAYS):
        raise InvalidMessage("to: too early")  # 30 days before it is before year 1
    else:
        start = end - timedelta(days=DEFAULT_REPORT_DAYS)
    if end <= start:
        raise InvalidMessage("to: must be after from")
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidMessage(f"from: at most {MAX_REPORT_DAYS} days before to")
    return start, end


async def report(request: Request, node: Node, session: SessionInfo) -> Any:
    """The analysts' report for [from, to) (UTC days; default: services/report.py's
    `default_range`, the same as `clubpengu report`'s)."""
    start, end = _report_range(request)
    db = node.client[node.settings.mongodb_db]
    return {
        "from": start.date().isoformat(),
        "to": end.date().isoformat(),
        "sections": await staff.report(db, start, end),
    }


async def matches(request: Request, node: Node, session: SessionInfo) -> Any:
    """`?status=live|finished&wallet=&before=&limit=`, newest first."""
    params = request.query_params
    try:
        limit = int(params.get("limit", "50"))
    except ValueError:
        raise InvalidMessage("limit: expected a number") from None
    page, following = await staff_matches.match_page(
        params.get("status") or None, params.get("wallet") or None, params.get("before"), limit
    )
    return {"matches": page, "next": following}


async def buddies(request: Request, node: Node, session: SessionInfo) -> Any:
    """A player's buddies (online state and room), the requests to and from them (those
    hidden by an ignore marked), whom they ignore and how many ignore them."""
    wallet = request.path_params["wallet"]
    if decode_wallet(wallet) is None:
        raise InvalidMessage("wallet: not a Solana wallet address")
    return render.staff_buddies(wallet, await node.services.buddies.staff_view(wallet))


def routes() -> list[Route]:
    return [
        Route("/admin/overview", endpoint(READERS, overview), methods=["GET"]),
        Route("/admin/ledger/verify", endpoint(READERS, verify_ledger), methods=["GET"]),
        Route("/admin/report", endpoint(READERS, report), methods=["GET"]),
        Route("/admin/matches", endpoint(STAFF, matches), methods=["GET"]),
        Route("/admin/users/{wallet}/buddies", endpoint(STAFF, buddies), methods=["GET"]),
    ]
