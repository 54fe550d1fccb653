#!/usr/bin/env python3
"""The attacker's playbook as a benchmark (docs/economy.md): K fresh wallets signed in
from one address collect every free coin they can and funnel it into one target wallet
through every path that moves coins between wallets, while the server's clock runs
through a week.

The node runs in this process (uvicorn on a free loopback port, on a fresh embedded
database or on --mongodb-uri under a database of its own), built with a clock that this
script moves forward: a simulated week takes a few minutes and nothing sleeps for real.
The attacker speaks only the protocol and learns from the answers (a held save, a
refunded forfeit, a wager limit); the figures come from the database.

Sources tried by every wallet: the daily bonus (a join each simulated day), a forged
localStorage save (the biggest first; when that is held for review, the biggest one that
is applied at once), every known promo code (the script creates a public one, as an
operator would), and each day the house's rewards for matches against the computer,
played at its easiest level with its own search at the normal level (the attacker has
the server's code; the hard one costs this process 70 ms a move) until the day's cap
stops the rewards. Transfer paths tried: a wager forfeited at once, and, when that is
refunded, a wager lost on purpose after the fewest moves that count. Add a source by
adding a function to SOURCES (once per wallet) or DAILY_SOURCES, a path by adding a
strategy to `Farm.lose_to` (trades …).

    .venv/bin/python scripts/farm_sim.py                      # 200 wallets, 7 days
    .venv/bin/python scripts/farm_sim.py --wallets 20 --days 2 --json farm.json
    .venv/bin/python scripts/farm_sim.py --set WAGER_PAIR_DAILY_LIMIT=0   # a rule off

Against a server that cannot take a clock (older versions), the days do not advance and
the funnel runs for --funnel-seconds of real time per day; the rate is then per hour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import base58
import uvicorn
import websockets
from nacl.signing import SigningKey
from pymongo import AsyncMongoClient

from clubpengu.cli.serve import _Server, server_options
from clubpengu.config import Settings, load_settings
from clubpengu.db import EmbeddedDatabase
from clubpengu.games.computer import choose_move
from clubpengu.transport.app import build_app

ROOM = "town"
TIMEOUT = 30.0  # seconds any answer may take: a slow server is an error, not a hang
CONNECT_TRIES = 8  # a socket refused for the address's limit is tried again, a little later
START = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday, 00:00 UTC
# Where each step of a simulated day happens, after the day's midnight.
SIGN_UP_AT, FUNNEL_AT = timedelta(minutes=10), timedelta(hours=12)
WAGERS = (1000, 500, 200, 100, 50, 25, 10, 5, 1)  # the attacker tries the biggest first
WIN_FOR_SEAT_0 = (0, 3, 1, 4, 2)  # tic-tac-toe: seat 0 takes the top row
IGNORED = {"moves", "player_joined", "player_left", "chat", "emote", "room_match", "player_look"}
PROMOS = {"WELCOME": 50}  # the public codes an attacker knows (created by the script)
# Against the computer: the game that pays most a win (20), at the level easiest to beat;
# at most this many matches a wallet a day (the cap against the computer is 5 wins).
COMPUTER_GAME, COMPUTER_LEVEL, COMPUTER_MATCHES = "connect_four", "easy", 12
# Coins that only move between wallets (a wager's escrow, payout and refund).
WAGER_TYPES = ["match_escrow", "match_payout", "match_refund"]


class SimClock:
    """The server's clock: what every service asks for the time. Only moves forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


class Player:
    """One wallet and its WebSocket: replies matched by rid, pushes kept by type, and the
    balance as last pushed or replied."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = SigningKey.generate()
        self.wallet = base58.b58encode(bytes(self.key.verify_key)).decode()
        self.token: str | None = None
        self.player_id = ""
        self.username = ""
        self.coins = 0
        self.created = False
        self.collected: set[str] = set()
        self.unlocked_on: date | None = None
        self.strategy = "forfeit_at_once"
        self.ws: Any = None
        self._rid = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pushes: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def open(self, url: str) -> None:
        self.ws = await websockets.connect(url, max_size=None, max_queue=None)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait({self._reader})
        self.ws, self._pushes = None, []

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                waiter = self._waiting.pop(frame.get("rid", -1), None)
                if frame.get("type") == "coins" and "rid" not in frame:
                    self.coins = frame["coins"]
                if waiter is not None:
                    waiter.set_result(frame)
                elif frame.get("type") not in IGNORED:
                    self._pushes.append(frame)
                    self._arrived.set()

    async def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._rid += 1
        waiter = self._waiting[self._rid] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps(payload | {"rid": self._rid}))
        async with asyncio.timeout(TIMEOUT):
            return await waiter

    async def push(self, *kinds: str, match_id: str | None = None) -> dict[str, Any]:
        """The first push kept of one of `kinds` (about `match_id`, when given)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                for i, frame in enumerate(self._pushes):
                    if frame["type"] in kinds and match_id in (None, frame.get("matchId")):
                        return self._pushes.pop(i)
                self._arrived.clear()
                await self._arrived.wait()

    async def sync(self) -> None:
        """Every push the server sent before this ping's answer has been read."""
        await self.call({"type": "ping"})

    def sign(self, text: str) -> str:
        return base58.b58encode(self.key.sign(text.encode()).signature).decode()


@dataclass
class Report:
    """What happened: outcomes of every step, and the figures of every simulated day."""

    steps: Counter[tuple[str, str]] = field(default_factory=Counter)
    days: list[dict[str, Any]] = field(default_factory=list)

    def saw(self, step: str, outcome: str) -> str:
        self.steps[(step, outcome)] += 1
        return outcome


def outcome(reply: dict[str, Any]) -> str:
    """An answer as the attacker reads it: an error or failure code, else its type."""
    if reply["type"] == "error":
        return str(reply["code"])
    if reply["type"] == "auth_failure":
        return str(reply["error"])
    return str(reply.get("status") or reply["type"])


class Farm:
    """The attacker: a target wallet and the farm wallets that feed it."""

    def __init__(self, url: str, wallets: int, clock: SimClock, report: Report) -> None:
        self.url, self.clock, self.report = url, clock, report
        self.target = Player("target")
        self.farm = [Player(f"farm{n}") for n in range(wallets)]
        self.catalog: list[dict[str, Any]] = []
        self.save_kind = "biggest"
        self.signing_up = True
        self.refusal = ""  # the text of the last refused challenge, as a player reads it
        self.target_full = False  # the target may win nothing more today
        self.funnel_seconds = 0.0  # real time the last day's funnel took

    # --- entering the world -------------------------------------------------------------

    async def enter(self, player: Player) -> bool:
        """Connect and join `town`: with the token while it works, else a new sign-in (a
        sign-up for a new wallet). False when the server refused."""
        if not await self.connect(player):
            return False
        if player.token is not None:
            joined = await player.call({"type": "join", "token": player.token, "room": ROOM})
            if joined["type"] == "joined":
                return self._joined(player, joined)
        challenge = await player.call({"type": "auth_request"})
        signed = await player.call({"type": "auth_verify", "walletAddress": player.wallet,
                                    "signature": player.sign(challenge["nonce"])})  # fmt: skip
        step = "sign_in" if player.created else "sign_up"
        self.report.saw(step, outcome(signed))
        if signed["type"] != "auth_success":
            await player.close()
            return False
        player.token, player.created = signed["token"], True
        return self._joined(player, await player.call({"type": "join", "room": ROOM}))

    async def connect(self, player: Player) -> bool:
        """Open `player`'s socket, waiting a little when the address is at
        MAX_CONNECTIONS_PER_IP: the server frees a closed socket's place only once its
        leave is written, which a busy server does a moment after the close."""
        for attempt in range(CONNECT_TRIES):
            try:
                await player.open(self.url)
                return True
            except websockets.InvalidStatus as refused:  # MAX_CONNECTIONS_PER_IP, _CONNECTIONS
                self.report.saw("connect", f"http_{refused.response.status_code}")
                if refused.response.status_code != 429 or attempt == CONNECT_TRIES - 1:
                    return False
                await asyncio.sleep(0.1 * (attempt + 1))
        return False

    def _joined(self, player: Player, joined: dict[str, Any]) -> bool:
        player.player_id, player.coins = joined["playerId"], joined["user"]["coins"]
        player.username = joined["user"]["username"]
        return True

    # --- free coins ---------------------------------------------------------------------

    def forged_save(self, player: Player) -> dict[str, Any]:
        """The biggest save, or (once one was held for review) the biggest one applied at
        once under the documented defaults: 1,000 coins, only items for sale, 2 puffles."""
        biggest = self.save_kind == "biggest"
        items = [i for i in self.catalog if biggest or i["forSale"]]
        colors = ["blue", "red", "green", "pink", "black", "purple", "yellow", "white", "gold"]
        puffles = [{"name": f"Pet {n}", "color": c} for n, c in enumerate(colors[:10])]
        return {
            "clubpenguin_save": {"coins": 10**9 if biggest else 1000, "stamps": ["first_login"]},
            "unlocked_cosmetics": [i["id"] for i in items if i["type"] == "cosmetic"],
            "unlocked_mounts": [i["id"] for i in items if i["type"] == "mount"],
            "puffles": puffles if biggest else puffles[:2],
        }

    async def migrate(self, player: Player) -> None:
        if not self.catalog:
            self.catalog = (await player.call({"type": "catalog"}))["items"]
        reply = await player.call({"type": "migrate_data", "localData": self.forged_save(player)})
        seen = self.report.saw(f"migrate_{self.save_kind}", outcome(reply))
        if seen == "pending_review":
            self.save_kind = "under_review"  # the attacker learns the thresholds

    async def redeem(self, player: Player) -> None:
        for code in PROMOS:
            self.report.saw("promo", outcome(await player.call({"type": "redeem_promo",
                                                                "code": code})))  # fmt: skip

    async def play_computer(self, player: Player) -> None:
        """Matches against the computer until the day's cap against it (or of all match
        rewards) cuts the reward, at most COMPUTER_MATCHES; a lost one is played again."""
        for _ in range(COMPUTER_MATCHES):
            frame = await player.call({"type": "challenge", "opponent": "computer",
                                       "game": COMPUTER_GAME, "level": COMPUTER_LEVEL})  # fmt: skip
            if frame["type"] != "match_start":
                self.report.saw("computer_match", outcome(frame))
                return
            match_id = frame["matchId"]
            while frame["type"] != "match_end":
                view = frame["view"]
                if frame["status"] != "active":
                    frame = await player.push("match_end", match_id=match_id)
                elif view["seat"] in frame["toMove"]:
                    move = choose_move(COMPUTER_GAME, view, view["seat"], "normal", frame["seq"])
                    frame = await player.call({"type": "match_move", "matchId": match_id,
                                               "move": move})  # fmt: skip
                    if frame["type"] == "error":
                        self.report.saw("computer_match", outcome(frame))
                        return
                else:
                    frame = await player.push("match_state", "match_end", match_id=match_id)
            why = self.report.saw("computer_match", frame.get("rewardReason") or "paid")
            if why in ("computer_cap", "daily_cap"):
                return

    # --- moving coins -------------------------------------------------------------------

    async def challenge(self, sender: Player, to: Player, wager: int) -> dict[str, Any]:
        """`sender` challenges `to`, who accepts; the answer to the challenge, or the
        match_start `to` got."""
        sent = await sender.call({"type": "challenge", "targetPlayerId": to.player_id,
                                  "game": "tictactoe", "wager": wager})  # fmt: skip
        if sent["type"] != "challenge_sent":
            return sent
        await to.push("challenge")
        started = await to.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
        if started["type"] == "match_start":
            await sender.push("match_start")
        return started

    async def free_match(self, a: Player, b: Player) -> None:
        """A whole free game (seat 0 wins in five moves): what the wager gates count."""
        started = await self.challenge(a, b, 0)
        if started["type"] != "match_start":
            self.report.saw("free_match", outcome(started))
            return
        self.report.saw("free_match", "played")
        seats = {started["seat"]: b, 1 - started["seat"]: a}
        for turn, cell in enumerate(WIN_FOR_SEAT_0):
            await seats[turn % 2].call({"type": "match_move", "matchId": started["matchId"],
                                        "move": {"cell": cell}})  # fmt: skip
        for player in (a, b):
            await player.push("match_end")

    async def lose_to(self, loser: Player, winner: Player, wager: int) -> str:
        """One wager lost on purpose: forfeited at once, or (once that was refunded) after
        making two moves, the fewest that count. Returns how it was settled."""
        started = await self.challenge(loser, winner, wager)
        if started["type"] != "match_start":
            self.refusal = str(started.get("message", ""))
            return self.report.saw("challenge", outcome(started))
        self.report.saw("challenge", "accepted")
        match_id, winner_seat = started["matchId"], started["seat"]
        seats = {winner_seat: winner, 1 - winner_seat: loser}
        turn = 0
        while loser.strategy == "lose_after_moves" and turn < 4:  # each seat two moves
            await seats[turn % 2].call({"type": "match_move", "matchId": match_id,
                                        "move": {"cell": turn}})  # fmt: skip
            turn += 1
        await loser.call({"type": "match_forfeit", "matchId": match_id})
        ended = await loser.push("match_end")
        await winner.push("match_end")
        await loser.sync()
        await winner.sync()
        refunded = bool(ended.get("refunded"))  # (a server that never refunds has no field)
        tried = loser.strategy
        if refunded and tried == "forfeit_at_once":
            for player in self.farm:
                player.strategy = "lose_after_moves"  # the attacker learns
        return self.report.saw(f"settled_{'refund' if refunded else 'paid'}", tried)

    async def funnel(self, player: Player, deadline: float) -> int:
        """Move what `player` holds into the target; the number of wagers lost."""
        lost = 0
        while player.coins > 0 and time.monotonic() < deadline and not self.target_full:
            for wager in [w for w in WAGERS if w <= player.coins] or [player.coins]:
                settled = await self.lose_to(player, self.target, wager)
                if settled in ("forfeit_at_once", "lose_after_moves"):
                    lost += 1
                    break
                if settled == "wager_locked" and await self.unlock(player):
                    break
                if f"{self.target.username} may win 0 more" in self.refusal:
                    self.target_full = True  # nothing more today, whoever sends it
                if settled not in ("wager_limit", "insufficient_funds") or self.target_full:
                    return lost
            else:
                return lost
        return lost

    async def unlock(self, player: Player) -> bool:
        """When the gates ask for finished free matches (not for age, which only time
        gives), play three whole ones against the target: that unlocks both. False when
        that will not help."""
        if "free matches" not in self.refusal or player.unlocked_on is not None:
            return False
        player.unlocked_on = self.clock().date()
        for _ in range(3):
            await self.free_match(player, self.target)
        return True

    # --- one simulated day --------------------------------------------------------------

    async def day(self, number: int, funnel_seconds: float) -> None:
        midnight = START + timedelta(days=number)
        self.clock.at(midnight + SIGN_UP_AT)
        self.signing_up = True
        await self.enter(self.target)
        present = []
        for player in self.farm:
            if not player.created and not self.signing_up:
                continue
            if await self.enter(player):
                await self.collect(player)
                present.append(player)
                # One address keeps few sockets open (MAX_CONNECTIONS_PER_IP): the wallet
                # comes back for the funnel with its token.
                await player.close()
            elif not player.created:
                self.signing_up = False  # refused: no more sign-ups from here today
        await self.collect(self.target)  # after a farm wallet has probed the thresholds
        self.clock.at(midnight + FUNNEL_AT)
        self.target_full = False
        began = time.monotonic()
        deadline = began + funnel_seconds
        for player in present:
            if await self.enter(player):
                await self.funnel(player, deadline)
                await player.close()
        self.funnel_seconds = time.monotonic() - began
        await self.target.close()

    async def collect(self, player: Player) -> None:
        """Every source of SOURCES, each once per wallet, and of DAILY_SOURCES (the daily
        bonus came with the join)."""
        for source in SOURCES:
            if source.__name__ not in player.collected:
                player.collected.add(source.__name__)
                await source(self, player)
        for source in DAILY_SOURCES:
            await source(self, player)
        await player.sync()


# The free coins every wallet goes after, once each (the daily bonus comes with each join).
SOURCES: list[Callable[[Farm, Player], Awaitable[None]]] = [Farm.migrate, Farm.redeem]
# ... and every day.
DAILY_SOURCES: list[Callable[[Farm, Player], Awaitable[None]]] = [Farm.play_computer]


# --- the figures, from the database ---------------------------------------------------------


async def figures(db: Any, farm: Farm, day: int, started: float) -> dict[str, Any]:
    wallets = [p.wallet for p in farm.farm if p.created]
    by_type = await (await db.transactions.aggregate([
        {"$match": {"walletAddress": {"$in": wallets}, "amount": {"$gt": 0}}},
        {"$group": {"_id": "$type", "coins": {"$sum": "$amount"}}},
    ])).to_list()  # fmt: skip
    sources = {row["_id"]: row["coins"] for row in by_type if row["_id"] not in WAGER_TYPES}
    target = await db.users.find_one({"walletAddress": farm.target.wallet}) or {}
    won = await (await db.transactions.aggregate([
        {"$match": {"walletAddress": farm.target.wallet, "type": {"$in": WAGER_TYPES}}},
        {"$group": {"_id": None, "coins": {"$sum": "$amount"}}},
    ])).to_list()  # fmt: skip
    return {
        "day": day + 1,
        "wallets": len(wallets),
        "farm_sources": sources,
        "per_wallet": round(sum(sources.values()) / max(len(wallets), 1), 1),
        "target_coins": target.get("coins", 0),
        "target_from_wagers": won[0]["coins"] if won else 0,
        "funnel_seconds": round(farm.funnel_seconds, 1),
        "seconds": round(time.monotonic() - started, 1),
    }


def honest_bound(settings: Settings, days: int) -> int | None:
    """The most one honest player could gain in `days` under these rules: a real save
    applied at once, every known promo, the daily bonus each day, the most wagers may
    win each day and the day's match rewards. None when nothing bounds wager winnings."""
    win_limit = getattr(settings, "wager_daily_win_limit", 0)
    if not win_limit:
        return None
    save = getattr(settings, "migration_review_coins", settings.migration_max_coins)
    rewards = getattr(settings, "match_reward_daily_cap", 0)
    daily = settings.daily_bonus_coins + win_limit + rewards
    return save + sum(PROMOS.values()) + days * daily


def print_report(report: Report, settings: Settings, clocked: bool, ledger_ok: bool) -> None:
    print("day  wallets  farm coins/wallet  target coins  from wagers  honest bound  real s")
    for row in report.days:
        bound = honest_bound(settings, row["day"]) if clocked else None
        shown = f"{bound:,}" if bound is not None else "none"
        print(f"{row['day']:>3}  {row['wallets']:>7}  {row['per_wallet']:>17,}  "
              f"{row['target_coins']:>12,}  {row['target_from_wagers']:>11,}  {shown:>12}  "
              f"{row['seconds']:>6}")  # fmt: skip
    last = report.days[-1] if report.days else None
    if last is not None:
        print("\nfarm sources (all wallets):", last["farm_sources"])
        funnel = sum(row["funnel_seconds"] for row in report.days)
        if not clocked and funnel > 0:
            rate = last["target_from_wagers"] / funnel * 3600
            print(f"funnel: {last['target_from_wagers']:,} coins in {funnel:.0f} s of real time, "
                  f"{rate:,.0f} coins an hour")  # fmt: skip
        if clocked:
            bound = honest_bound(settings, last["day"])
            within = bound is not None and last["target_coins"] <= bound
            print(f"target within one honest player's bound: {'yes' if within else 'NO'}")
    print("\nwhat each step met:")
    for (step, seen), count in sorted(report.steps.items()):
        print(f"  {step:<24} {seen:<24} {count:>6}")
    print(f"\nledger verify: {'clean' if ledger_ok else 'MISMATCHES'}")


# --- running the node ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def node(settings: Settings, clock: SimClock) -> AsyncIterator[tuple[str, Any, bool]]:
    """The server in this process: (WebSocket URL, app, whether it runs on `clock`)."""
    clocked = "clock" in inspect.signature(build_app).parameters
    app = build_app(settings, clock=clock) if clocked else build_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_config=None,
                            log_level="warning", **server_options(settings))  # fmt: skip
    server = _Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/ws", app, clocked
    finally:
        server.should_exit = True
        await task


def settings_for(uri: str, args: argparse.Namespace) -> Settings:
    env = {
        "MONGODB_URI": uri, "MONGODB_DB": args.db or f"farm_sim_{secrets.token_hex(4)}",
        "JWT_SECRET": secrets.token_urlsafe(48), "LOG_LEVEL": "warning",
        # Sign-in attempts are limited per minute of real time (60 by default); an attacker
        # paces itself under it, which costs minutes, not coins, so the sim does not wait.
        # The same for the per-connection message rate (30 a second).
        "AUTH_RATE_PER_IP": "0", "MESSAGE_RATE": "0", "ROOM_CAPACITY": "1000",
        "METRICS_ENABLED": "false",
    }  # fmt: skip
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        env[name] = value
    return load_settings(env, dotenv_path=None)


async def simulate(uri: str, args: argparse.Namespace) -> dict[str, Any]:
    settings = settings_for(uri, args)
    clock, report = SimClock(START), Report()
    started = time.monotonic()
    async with node(settings, clock) as (url, app, clocked):
        services = app.state.node.services
        for code, coins in PROMOS.items():
            await services.promos.create(code, coins=coins, max_redemptions=10**6,
                                         created_by="operator:farm_sim")  # fmt: skip
        farm = Farm(url, args.wallets, clock, report)
        db = app.state.node.client[settings.mongodb_db]
        for number in range(args.days):
            await farm.day(number, args.funnel_seconds)
            report.days.append(await figures(db, farm, number, started))
            print(json.dumps(report.days[-1]), file=sys.stderr)
        ledger = await services.economy.verify_ledger()
    if args.db is None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
        await client.drop_database(settings.mongodb_db)
        await client.close()
    print_report(report, settings, clocked, ledger.ok)
    first = report.days[0]["target_coins"] if report.days else 0
    return {
        "wallets": args.wallets, "days": args.days, "clocked": clocked,
        "ledger_ok": ledger.ok, "steps": {f"{s}:{o}": n for (s, o), n in report.steps.items()},
        "by_day": report.days, "target_after_day_1": first,
        "target_after_all": report.days[-1]["target_coins"] if report.days else 0,
        "honest_bound_all": honest_bound(settings, args.days) if clocked else None,
        "seconds": round(time.monotonic() - started, 1),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wallets", type=int, default=200, help="farm wallets (default 200)")
    parser.add_argument("--days", type=int, default=7, help="simulated days (default 7)")
    parser.add_argument("--funnel-seconds", type=float, default=120.0,
                        help="real seconds the funnel may run each day (default 120)")  # fmt: skip
    parser.add_argument("--mongodb-uri", help="a MongoDB to use (default: a fresh embedded one)")
    parser.add_argument("--db", help="database name (default: a fresh one, dropped after)")
    parser.add_argument("--set", action="append", default=[], metavar="VAR=VALUE",
                        help="a setting of the node, as in the environment")  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        uri = args.mongodb_uri
        if uri is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            database = EmbeddedDatabase(tmp / "data")
            uri = database.start()
            stack.callback(database.stop)
        result = asyncio.run(simulate(uri, args))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["ledger_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
