"""`clubpengu admin ...` and `clubpengu ledger verify`: economy operations for operators
with direct database access (the HTTP admin API does the same for signed-in admins).

They connect to MONGODB_URI / MONGODB_DB (MONGODB_URI is required: the embedded database
only runs inside `clubpengu serve`), create any missing indexes, and go through the same
services as the server, so every change lands in the ledger; the actor is
`admin:cli:<operating-system user>`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from clubpengu.cli_db import cli_database
from clubpengu.config import ConfigError, Settings, load_settings
from clubpengu.db import init_models
from clubpengu.errors import DomainError, InvalidMessage
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.promos import PromoService
from clubpengu.services.reconciliation import LedgerReport

EXIT_OK = 0
EXIT_FAILURE = 1  # refused by the rules, or the ledger has mismatches
EXIT_CONFIG_ERROR = 2
EXIT_DATABASE_ERROR = 3
ADMIN_ADJUSTMENT = "admin_adjustment"

Client = AsyncMongoClient[dict[str, Any]]
Command = Callable[[argparse.Namespace, Settings, Client], Awaitable[int]]


def cli_actor() -> str:
    return f"admin:cli:{getpass.getuser()}"


def add_commands(commands: Any) -> None:
    """Add `admin` and `ledger` to the `clubpengu` subcommands."""
    admin = commands.add_parser("admin", help="Change coins and promo codes in the database.")
    actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")

    adjust = actions.add_parser(
        "adjust-coins",
        help="Add coins to a wallet, or take them away (negative AMOUNT), through the ledger.",
        epilog="example: clubpengu admin adjust-coins 7xKX...AsU -50 --reason 'refund #123'",
    )  # fmt: skip
    adjust.add_argument("wallet", metavar="WALLET", help="the player's wallet address")
    adjust.add_argument("amount", metavar="AMOUNT", type=int, help="signed number of coins")
    adjust.add_argument("--reason", required=True, help="why; kept in the ledger entry")
    adjust.add_argument(
        "--idempotency-key",
        help="run the same adjustment twice safely (default: a new key, printed)",
    )
    adjust.set_defaults(func=_run(adjust_coins))

    promo = actions.add_parser(
        "create-promo",
        help="Create a promo code that grants coins and/or items.",
        epilog="example: clubpengu admin create-promo SUMMER --coins 100 --item party_hat "
        "--max-redemptions 500 --expires 2026-09-01T00:00:00Z",
    )  # fmt: skip
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
    promo.set_defaults(func=_run(create_promo))

    history = actions.add_parser(
        "history",
        help="Show a player's history for support: sign-ins, failed sign-ins, rooms, "
        "migrations and staff actions, newest first.",
        epilog="example: clubpengu admin history 7xKX...AsU --limit 50",
    )
    history.add_argument("wallet", metavar="WALLET", help="the player's wallet address")
    history.add_argument("--limit", type=int, default=100, help="most entries to show")
    history.add_argument("--json", action="store_true", help="print JSON lines")
    history.set_defaults(func=_run(show_history))

    ledger = commands.add_parser("ledger", help="Check the coin ledger.")
    ledger_actions = ledger.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = ledger_actions.add_parser(
        "verify",
        help="Check that every balance equals the sum of its ledger entries and is not "
        "negative; exit 1 on any mismatch.",
        epilog="example: MONGODB_URI=mongodb://db:27017/?replicaSet=rs0 clubpengu ledger verify",
    )
    verify.set_defaults(func=_run(verify_ledger))


def _iso_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _run(command: Command) -> Callable[[argparse.Namespace], int]:
    """Wrap an async command: settings, a connection with indexes, one-line errors."""

    def run(args: argparse.Namespace) -> int:
        try:
            settings = load_settings()
        except ConfigError as error:
            return _fail(f"configuration error: {error}", EXIT_CONFIG_ERROR)
        if settings.mongodb_uri is None:
            return asyncio.run(_embedded(command, args, settings))
        return asyncio.run(_connected(command, args, settings))

    return run


async def _embedded(command: Command, args: argparse.Namespace, settings: Settings) -> int:
    """Without MONGODB_URI: the embedded database in CLUBPENGU_DATA_DIR (the running
    server's, or started for this command)."""
    try:
        async with cli_database(settings, role="app", init=True) as db:
            return await command(args, settings, db.client)
    except DomainError as error:
        return _fail(f"{error.code}: {error}", EXIT_FAILURE)
    except PyMongoError as error:
        return _fail(f"database error: {type(error).__name__}: {error}", EXIT_DATABASE_ERROR)


async def _connected(command: Command, args: argparse.Namespace, settings: Settings) -> int:
    client = _client(settings)
    try:
        await init_models(client, settings.mongodb_db)
        return await command(args, settings, client)
    except DomainError as error:
        return _fail(f"{error.code}: {error}", EXIT_FAILURE)
    except PyMongoError as error:
        return _fail(f"database error: {type(error).__name__}: {error}", EXIT_DATABASE_ERROR)
    finally:
        await client.close()


def _client(settings: Settings) -> Client:
    """A client for one short command, with "poll" monitoring: the default streaming
    monitor opens a second (RTT) connection right after the first heartbeat, and closing
    the client while a connection is being opened leaks its socket in pymongo 4.20
    (PYTHON-5867), which a command of a few milliseconds would often do."""
    assert settings.mongodb_uri is not None
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongo_server_selection_timeout_ms,
        socketTimeoutMS=settings.mongo_socket_timeout_ms,
        serverMonitoringMode="poll",
        appname="clubpengu/admin-cli",
    )


def _fail(message: str, code: int) -> int:
    print(f"clubpengu: {message}", file=sys.stderr)
    return code


async def adjust_coins(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    if not args.reason.strip():
        raise InvalidMessage("--reason must say why")
    key = f"admin:{args.idempotency_key or uuid.uuid4().hex}"
    economy = EconomyService(client, settings.mongodb_db)
    result = await economy.apply(
        args.wallet, args.amount, ADMIN_ADJUSTMENT,
        idempotency_key=key, actor=cli_actor(), reason=args.reason, proof={"source": "cli"},
    )  # fmt: skip
    note = " (already applied with this key; nothing changed)" if result.replayed else ""
    print(
        f"{args.wallet}: {result.delta:+d} coins, balance {result.balance}{note}\n"
        f"transaction {result.transaction_id}, idempotency key {key}"
    )
    return EXIT_OK


async def create_promo(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    economy = EconomyService(client, settings.mongodb_db)
    promos = PromoService(client, settings.mongodb_db, economy, load_catalog())
    promo = await promos.create(
        args.code, coins=args.coins, items=args.items, max_redemptions=args.max_redemptions,
        expires_at=args.expires, created_by=cli_actor(), active=not args.inactive,
    )  # fmt: skip
    expires = promo.expires_at.isoformat() if promo.expires_at else "never"
    print(
        f"promo code {promo.code}: {promo.coins} coins, items {list(promo.items) or 'none'}, "
        f"up to {promo.max_redemptions} redemptions, expires {expires}"
        f"{'' if promo.active else ', inactive'}"
    )
    return EXIT_OK


async def verify_ledger(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    economy = EconomyService(client, settings.mongodb_db)
    progress = _ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    report = await economy.verify_ledger(progress)
    if progress is not None:
        progress.done()
    print_report(report, sys.stdout)
    return EXIT_OK if report.ok else EXIT_FAILURE


def print_report(report: LedgerReport, out: TextIO) -> None:
    for mismatch in report.mismatches:
        balance = "none" if mismatch.balance is None else mismatch.balance
        print(
            f"MISMATCH {mismatch.wallet}: balance {balance}, ledger sum {mismatch.ledger_sum} "
            f"over {mismatch.entries} entries ({mismatch.problem})",
            file=out,
        )
    verdict = "OK" if report.ok else f"{len(report.mismatches)} MISMATCHES"
    print(
        f"ledger verify: {report.users} users, {report.transactions} transactions, "
        f"{verdict} ({report.seconds:.2f} s)",
        file=out,
    )


class _ProgressLine:
    """One self-overwriting line on a terminal: `checked 12000/50000 users (24%)`."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        self.out.write(f"\rchecked {done}/{total} users ({percent}%)")
        self.out.flush()

    def done(self) -> None:
        self.out.write("\n")
        self.out.flush()


async def show_history(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    """Events (kept EVENT_RETENTION) and audit entries (kept for good), merged by time."""
    if not 1 <= args.limit <= 10_000:
        return _fail("--limit must be 1 to 10000", EXIT_CONFIG_ERROR)
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
    return 0


def _history_row(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    detail = doc.get("data") or {k: doc.get(k) for k in ("actor", "source") if doc.get(k)}
    return {"at": doc["at"], "kind": kind, "detail": json.dumps(detail, default=str)}
