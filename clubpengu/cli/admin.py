"""`clubpengu admin ...`: economy operations for operators with direct database access
(the HTTP admin API does the same for signed-in admins).

They go through the same services as the server, so every change lands in the ledger
(actor `admin:cli:<operating-system user>`) and in the audit trail (actor
`cli:<operating-system user>`, role `operator`). With MONGODB_URI they create any missing
indexes there; without it they work on the embedded database in the data directory
(`--data-dir`). A coin change reaches the player online within a second, through the
node that holds them (services/outside_notices.py).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from clubpengu.cli.common import (
    Commands,
    ExitCode,
    add_actions,
    add_command,
    add_database_options,
    fail,
)
from clubpengu.cli.database import Access, Client, with_database
from clubpengu.config import Settings
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.services import staff_actions
from clubpengu.services.audit import CLI, AuditTrail, Staff
from clubpengu.services.auth import AuthConfig, AuthService
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.erasure import ErasureService, public_job
from clubpengu.services.promos import PromoService

HISTORY_LIMIT = 10_000
OPERATOR = "operator"  # the audit role of someone with the database in hand


def cli_actor() -> str:
    return f"admin:cli:{getpass.getuser()}"


def cli_staff() -> Staff:
    return Staff(f"cli:{getpass.getuser()}", OPERATOR, CLI)


def add_parser(commands: Commands) -> None:
    admin = add_command(
        commands,
        "admin",
        "Change coins and promo codes, and show a player's history.",
        "clubpengu admin adjust-coins 7xKX...AsU 100 --reason 'support ticket 42'",
    )
    actions = add_actions(admin)

    adjust = add_command(
        actions,
        "adjust-coins",
        "Add coins to a wallet, or take them away (negative AMOUNT), through the ledger.",
        "clubpengu admin adjust-coins 7xKX...AsU -50 --reason 'refund #123'",
    )
    adjust.add_argument("wallet", metavar="WALLET", help="the player's wallet address")
    adjust.add_argument("amount", metavar="AMOUNT", type=int, help="signed number of coins")
    adjust.add_argument(
        "--reason", required=True, help="why (3-200 characters); kept in the ledger and audit"
    )
    adjust.add_argument(
        "--idempotency-key",
        help="run the same adjustment twice safely (default: a new key, printed)",
    )
    add_database_options(adjust)
    adjust.set_defaults(func=with_database(adjust_coins))

    promo = add_command(
        actions,
        "create-promo",
        "Create a promo code that grants coins and/or items.",
        "clubpengu admin create-promo SUMMER --coins 100 --item party_hat "
        "--max-redemptions 500 --expires 2026-09-01T00:00:00Z",
    )
    promo.add_argument("code", metavar="CODE", help="3-32 letters, digits, - or _ (any case)")
    promo.add_argument(
        "--coins", type=int, default=0, help="coins each redemption grants (default 0)"
    )
    promo.add_argument(
        "--item", dest="items", action="append", default=[], metavar="ID",
        help="catalogue item id to grant; repeat for more",
    )  # fmt: skip
    promo.add_argument("--max-redemptions", type=int, required=True, help="how many wallets")
    promo.add_argument("--expires", type=_iso_time, help="ISO 8601 time; UTC if no offset")
    promo.add_argument("--inactive", action="store_true", help="create it switched off")
    add_database_options(promo)
    promo.set_defaults(func=with_database(create_promo))

    history = add_command(
        actions,
        "history",
        "Show a player's history for support: sign-ins, failed sign-ins, rooms, "
        "migrations and staff actions, newest first.",
        "clubpengu admin history 7xKX...AsU --limit 50",
    )
    history.add_argument("wallet", metavar="WALLET", help="the player's wallet address")
    history.add_argument(
        "--limit",
        type=int,
        default=100,
        help=f"most entries to show, 1 to {HISTORY_LIMIT} (default 100)",
    )
    history.add_argument("--json", action="store_true", help="print JSON lines")
    add_database_options(history)
    history.set_defaults(
        func=with_database(show_history, Access.READ, init=False, check=_check_limit)
    )

    erase = add_command(
        actions,
        "erase",
        "Erase a player's data now (docs/privacy.md): sessions revoked, profile, puffles, "
        "history deleted, ledger, matches and audit kept under a tombstone. Safe to run "
        "again: it finishes an erasure stopped half-way.",
        "clubpengu admin erase 7xKX...AsU --reason 'GDPR request #4411'",
    )
    erase.add_argument("wallet", metavar="WALLET", help="the player's wallet address")
    erase.add_argument("--reason", required=True, help="why (3-200 characters); audited")
    add_database_options(erase)
    erase.set_defaults(func=with_database(erase_player))


def _iso_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def adjust_coins(args: argparse.Namespace, settings: Settings, client: Client) -> ExitCode:
    key = f"admin:{args.idempotency_key or uuid.uuid4().hex}"
    # The player, if online, is told by their node (services/outside_notices.py).
    economy = EconomyService(client, settings.mongodb_db, notify=args.outbox)
    audit = AuditTrail(client, settings.mongodb_db)
    result = await staff_actions.adjust_coins(
        economy, audit, cli_staff(), args.wallet, args.amount, args.reason, key,
        ledger_actor=cli_actor(), proof={"source": "cli"},
    )  # fmt: skip
    note = " (already applied with this key; nothing changed)" if result.replayed else ""
    print(
        f"{args.wallet}: {result.delta:+d} coins, balance {result.balance}{note}\n"
        f"transaction {result.transaction_id}, idempotency key {key}"
    )
    return ExitCode.OK


async def erase_player(args: argparse.Namespace, settings: Settings, client: Client) -> ExitCode:
    economy = EconomyService(client, settings.mongodb_db)
    audit = AuditTrail(client, settings.mongodb_db)
    auth = AuthService(
        AuthConfig(settings.auth_domain, timedelta(0), settings.jwt_secret, timedelta(0))
    )
    async with _nodes(settings) as live:
        erasure = ErasureService(
            client, settings.mongodb_db, auth, economy, audit, live,
            secret=settings.jwt_secret, grace=timedelta(seconds=settings.erasure_grace),
        )  # fmt: skip
        job = await erasure.erase_now(cli_staff(), args.wallet, args.reason)
    print(json.dumps(public_job(job)))
    return ExitCode.OK if job.status == "done" else ExitCode.FAILURE


@contextlib.asynccontextmanager
async def _nodes(settings: Settings) -> AsyncIterator[SessionRegistry | None]:
    """How the erasure reaches the running nodes' connections: with REDIS_URL, the bus
    they listen on (the erasure is published as the HTTP route publishes it, and the bus
    is drained before the command exits); without, nothing: the one node finds the
    started job by itself within ERASURE_SWEEP_INTERVAL (docs/privacy.md)."""
    if settings.redis_url is None:
        yield None
        return
    from clubpengu.realtime.bus.backends.redis import RedisBus

    bus = RedisBus(settings.redis_url, timeout=settings.redis_timeout)
    await bus.connect()
    try:
        # Never started: it listens to nothing and holds no connection; it only publishes.
        yield SessionRegistry(bus, f"cli-{os.getpid()}")
    finally:
        await bus.disconnect()


async def create_promo(args: argparse.Namespace, settings: Settings, client: Client) -> ExitCode:
    economy = EconomyService(client, settings.mongodb_db)
    promos = PromoService(client, settings.mongodb_db, economy, load_catalog())
    promo = await promos.create(
        args.code, coins=args.coins, items=args.items, max_redemptions=args.max_redemptions,
        expires_at=args.expires, created_by=cli_actor(), active=not args.inactive,
        staff=cli_staff(),
    )  # fmt: skip
    expires = promo.expires_at.isoformat() if promo.expires_at else "never"
    print(
        f"promo code {promo.code}: {promo.coins} coins, items {list(promo.items) or 'none'}, "
        f"up to {promo.max_redemptions} redemptions, expires {expires}"
        f"{'' if promo.active else ', inactive'}"
    )
    return ExitCode.OK


def _check_limit(args: argparse.Namespace) -> ExitCode | None:
    if not 1 <= args.limit <= HISTORY_LIMIT:
        return fail(f"--limit must be 1 to {HISTORY_LIMIT}", ExitCode.USAGE)
    return None


async def show_history(args: argparse.Namespace, settings: Settings, client: Client) -> ExitCode:
    """Events (kept EVENT_RETENTION) and audit entries (kept for good), merged by time."""
    database = client[settings.mongodb_db]
    query = {"walletAddress": args.wallet}
    events = await database.events.find(query).sort("at", -1).limit(args.limit).to_list()
    audits = await database.audit_logs.find(query).sort("at", -1).limit(args.limit).to_list()
    rows = [_history_row(doc["kind"], doc) for doc in events]
    rows += [_history_row(f"audit:{doc['action']}", doc) for doc in audits]
    rows.sort(key=lambda row: row["at"], reverse=True)
    for row in rows[: args.limit]:
        if args.json:
            print(json.dumps(row, default=str))
        else:
            print(f"{row['at']:%Y-%m-%d %H:%M:%S}  {row['kind']:<22} {row['detail']}")
    if not rows:
        print(f"no history for {args.wallet}", file=sys.stderr)
    return ExitCode.OK


def _history_row(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    detail = doc.get("data") or {k: doc.get(k) for k in ("actor", "source") if doc.get(k)}
    return {"at": doc["at"], "kind": kind, "detail": json.dumps(detail, default=str)}
