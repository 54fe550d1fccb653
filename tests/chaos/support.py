"""What the chaos tests share: a database the test owns (its own process, data directory and
port, so it can be killed and started again on the same port), `clubpengu serve` as a real
process on it, players that move and chat and record what they receive, and `/health`
and log watchers. Nothing is mocked: every part is a real process spoken to over its
real protocol."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from clubpengu.db import EmbeddedDatabase, embedded_uri, free_port
from tests.support import CLUBPENGU, NO_FARM_LIMITS, Client, ServeProcess, Wallet, sign_in
from tests.waiting import eventually

CHAOS_SECRET = "chaos-secret-" + "x" * 40


class OwnedDatabase:
    """SecantusDB in a process of the test's own, with its own data directory and port:
    `kill()` stops it (SIGKILL or SIGTERM) and `start()` brings it back on the same port
    and data, as an operator restarting a crashed database would."""

    def __init__(self, directory: Path, *, test_commands: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        self.extra_args = ["--enable-test-commands"] if test_commands else []
        self._process: EmbeddedDatabase | None = None

    @property
    def uri(self) -> str:
        """As `clubpengu serve` talks to its embedded database (journaled by default)."""
        return embedded_uri(self.port)

    def start(self) -> None:
        self._process = EmbeddedDatabase(self.directory, port=self.port, extra_args=self.extra_args)
        self._process.start()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self._process is not None and self._process.process is not None
        child = self._process.process
        child.send_signal(sig)
        child.wait(30)
        self._process.process = None
        self._process.stop()  # only removes its pid and port files now

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()


# --- `clubpengu serve` on that database ----------------------------------------------------


def serve_env(database_uri: str, database: str, admin: Wallet, **extra: str) -> dict[str, str]:
    return {
        "CLUBPENGU_ENV": "test",
        "MONGODB_URI": database_uri,
        "MONGODB_DB": database,
        "JWT_SECRET": CHAOS_SECRET,
        "ADMIN_WALLETS": admin.address,
        "AUTH_RATE_PER_IP": "0",
        "MAX_CONNECTIONS_PER_IP": "0",
        "MESSAGE_RATE_PER_IP": "0",
        "AUTH_RATE_PER_CONNECTION": "0",
        "CHAT_RATE": "100/s",
        "MESSAGE_RATE": "200/s",
        "DAILY_BONUS_COINS": "0",
        # No match rewards: a match's ledger entries are its escrows and its payout or
        # refunds alone, which is what the kill tests account for.
        "MATCH_REWARD_DAILY_CAP": "0",
        **NO_FARM_LIMITS,
        **extra,
    }


def ledger_verify(database_uri: str, database: str) -> subprocess.CompletedProcess[str]:
    """The operators' `clubpengu ledger verify`, as a process, against that database."""
    env = {**os.environ, "MONGODB_URI": database_uri, "MONGODB_DB": database}
    env.pop("CLUBPENGU_DATA_DIR", None)
    return subprocess.run(
        [str(CLUBPENGU), "ledger", "verify"], env=env, capture_output=True, text=True, timeout=60
    )


async def health(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        try:
            response = await http.get(url + "/health")
        except httpx.HTTPError:
            return 0, {}
    return response.status_code, response.json()


async def wait_health(
    url: str, check: Callable[[int, dict[str, Any]], bool], timeout: float = 30.0
) -> float:
    """Poll /health until `check(status, body)`; the seconds it took. Fails after `timeout`."""
    started = time.monotonic()
    await eventually(
        lambda: health(url), "/health", ready=lambda a: check(*a), timeout=timeout, every=0.05
    )
    return time.monotonic() - started


def degraded_database(status: int, body: dict[str, Any]) -> bool:
    return status == 503 and body.get("database") == "error"


def healthy(status: int, body: dict[str, Any]) -> bool:
    return status == 200 and body.get("status") == "healthy"


def log_messages(serve: ServeProcess) -> list[str]:
    return [str(record.get("msg", "")) for record in serve.log_records()]


# --- players -------------------------------------------------------------------------------


@dataclass
class Player:
    """A signed-in player whose reader task records every frame it receives, so the test
    can send while pushes keep coming. `seen` keeps when each other player's moves and
    each chat line arrived (monotonic seconds)."""

    ws_url: str
    wallet: Wallet = field(default_factory=Wallet)
    client: Client | None = None
    player_id: str = ""
    moves_seen: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    chats_seen: dict[str, float] = field(default_factory=dict)
    replies: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    frames: list[dict[str, Any]] = field(default_factory=list)  # other pushes, in order
    closed_with: int | None = None
    _reader: asyncio.Task[None] | None = None
    _rids: int = 0

    async def enter(self, room: str) -> None:
        ws = await websockets.connect(self.ws_url, max_size=None, max_queue=None)
        self.client = Client(ws)
        await sign_in(self.client, self.wallet)
        joined = await self.client.request({"type": "join", "room": room}, timeout=30)
        assert joined["type"] == "joined", joined
        self.player_id = joined["playerId"]
        self._reader = asyncio.create_task(self._read(), name=f"reader-{self.player_id}")

    async def _read(self) -> None:
        assert self.client is not None
        try:
            async for raw in self.client.ws:
                self._file(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        self.closed_with = self.client.ws.close_code or -1

    def _file(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        kind = frame.get("type")
        rid = frame.get("rid")
        if rid is not None and rid in self.replies:
            self.replies.pop(rid).set_result(frame)
        elif kind == "moves":
            for entry in frame["moves"]:
                self.moves_seen[entry["playerId"]].append(now)
        elif kind == "chat":
            self.chats_seen.setdefault(frame["text"], now)
        elif kind != "coins":
            self.frames.append(frame)

    async def send(self, payload: dict[str, Any]) -> None:
        assert self.client is not None
        await self.client.send(payload)

    async def call(self, payload: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Send with a fresh rid and wait for the reply to it."""
        self._rids += 1
        rid = f"r{self._rids}"
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[rid] = reply
        await self.send(payload | {"rid": rid})
        try:
            return await asyncio.wait_for(reply, timeout)
        finally:
            self.replies.pop(rid, None)

    def moves_of(self, other: Player, since: float, until: float = float("inf")) -> int:
        return sum(1 for at in self.moves_seen.get(other.player_id, ()) if since <= at <= until)

    @property
    def open(self) -> bool:
        return self.client is not None and self.closed_with is None

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)


async def enter_all(players: list[Player], room_of: Callable[[int], str], batch: int = 10) -> None:
    """Sign in and join, `batch` at a time (a burst of sign-ins is not what is tested)."""
    for start in range(0, len(players), batch):
        group = players[start : start + batch]
        await asyncio.gather(*(p.enter(room_of(start + i)) for i, p in enumerate(group)))


# --- walking and talking ------------------------------------------------------------------


@dataclass
class Chatter:
    """Moves `player` every `move_every` seconds (each move a new position, within the
    room's speed) and says a numbered line every `chat_every` seconds; remembers when it
    said what."""

    player: Player
    index: int
    move_every: float = 0.2
    chat_every: float = 1.0
    said: dict[str, float] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        step, next_chat = 0, time.monotonic() + self.chat_every * (self.index % 5) / 5
        y = 150 + (self.index * 7) % 400
        while not stop.is_set() and self.player.open:
            step += 1
            x = 200 + abs(step % 80 - 40) * 10  # to and fro at 50 units/s: within speed
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.player.send({"type": "move", "x": x, "y": y})
                if time.monotonic() >= next_chat:
                    text = f"{self.player.player_id[:8]} line {step}"
                    self.said[text] = time.monotonic()
                    await self.player.send({"type": "chat", "text": text})
                    next_chat += self.chat_every
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.move_every)


async def run_until(
    workers: list[Callable[[asyncio.Event], Awaitable[None]]],
) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
    """Start every worker with one shared stop event; set it and await the tasks to end."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker(stop)) for worker in workers]
    return stop, tasks


async def finish(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    stop.set()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [result for result in done if isinstance(result, BaseException)]
    if failures:
        raise failures[0]


def heard_by_all(chatters: list[Chatter], since: float, until: float) -> tuple[int, int]:
    """Of the lines said in [since, until], how many reached every other chatter in the
    same room, and how many were said."""
    said = heard = 0
    for chatter in chatters:
        for text, at in chatter.said.items():
            if not since <= at <= until:
                continue
            said += 1
            others = [c.player for c in chatters if c is not chatter]
            if all(text in other.chats_seen for other in others):
                heard += 1
    return heard, said
