"""The load generator of scripts/bench_signin_storm.py: clients that open at a fixed rate,
sign in over the wire with a real ed25519 signature, join a room, and walk at 10 Hz.

Each worker process runs one uvloop loop with the minimal RFC 6455 client of benchws.py
(frames handled as they are parsed, no task per frame). Times are `time.monotonic()`,
which is the same clock in every process on Linux, so the main process can line up the
workers' figures with its own (the schedule, the phases, the SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import base58
import orjson
from benchws import OP_CLOSE, BenchSocket, connect
from nacl.signing import SigningKey

MOVE_HZ = 10
SLOTS = 100  # the 100 ms move period is cut into this many slots, spread over the clients
PATH_WIDTH = 500  # the zigzag each client walks, 1 unit per move
# The middle of `town` (1520 x 960): a walk heads from its origin towards it, so that it
# stays in the room. A returning player starts where its last walk ended; walking on
# away from the middle it reached the room's edge, where the server clamps the moves and
# the `moves` it sends no longer match them (counted as not delivered).
TOWN_MIDDLE = (760.0, 480.0)


class SeededWallet:
    """A wallet made again from its 32-byte seed: the returning run signs in as the same
    players."""

    def __init__(self, seed: bytes) -> None:
        self.key = SigningKey(seed)
        self.address = base58.b58encode(bytes(self.key.verify_key)).decode()

    def sign(self, text: str) -> str:
        return base58.b58encode(self.key.sign(text.encode()).signature).decode()


def path_point(k: int, origin: tuple[float, float]) -> tuple[float, float]:
    """The k-th position of a client's walk from `origin`: unique, 1 unit from the last,
    towards the middle of the room."""
    row, step = divmod(k, PATH_WIDTH)
    dx = -1 if origin[0] > TOWN_MIDDLE[0] else 1
    dy = -1 if origin[1] > TOWN_MIDDLE[1] else 1
    x = origin[0] + dx * (step if row % 2 == 0 else PATH_WIDTH - 1 - step)
    return x, origin[1] + dy * row


class StormSocket(BenchSocket):
    """Remembers the close code the server sent."""

    close_code: int | None = None

    def _handle(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_CLOSE and self.close_code is None:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        super()._handle(opcode, payload)


@dataclass
class Client:
    """One player of the storm: its schedule, its times, why it failed, its moves."""

    index: int
    wallet: SeededWallet
    room: str
    opens_at: float
    socket: StormSocket | None = None
    times: dict[str, float] = field(default_factory=dict)
    failure: str | None = None
    player_id: str = ""
    origin: tuple[float, float] = (0.0, 0.0)
    k: int = 0
    pending: deque[tuple[int, float]] = field(default_factory=deque)
    samples: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency)
    sent: int = 0
    reply: asyncio.Future[dict[str, Any]] | None = None

    def on_text(self, payload: bytes) -> None:
        now = time.monotonic()
        frame = orjson.loads(payload)
        if frame.get("type") == "moves":
            self._moves(frame["moves"], now)
        elif frame.get("rid") == 1 and self.reply is not None and not self.reply.done():
            self.reply.set_result(frame)

    async def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.socket is not None
        self.reply = asyncio.get_running_loop().create_future()
        self.socket.send_text(orjson.dumps(payload | {"rid": 1}))
        closed = self.socket.closed
        done, _ = await asyncio.wait([self.reply, closed], return_when=asyncio.FIRST_COMPLETED)
        if self.reply not in done:
            raise ConnectionError(f"closed:{self.socket.close_code}")
        return self.reply.result()

    async def enter(self, host: str, port: int, give_up_after: float) -> None:
        """Open, sign in, join; on any failure note why and close."""
        self.times["opened"] = time.monotonic()
        try:
            async with asyncio.timeout(give_up_after):
                await self._sign_in_and_join(host, port)
        except TimeoutError:
            stage = "join" if "signed" in self.times else "sign-in"
            self.failure = f"timeout during {stage} (> {give_up_after:g} s)"
        except (ConnectionError, OSError) as error:
            self.failure = f"connection: {error}"
        if self.failure is not None and self.socket is not None:
            self.socket.close()

    async def _sign_in_and_join(self, host: str, port: int) -> None:
        sock = await connect(host, port, self.on_text, StormSocket)
        assert isinstance(sock, StormSocket)
        self.socket = sock
        self.times["connected"] = time.monotonic()
        challenge = await self.request({"type": "auth_request"})
        if challenge.get("type") != "auth_challenge":
            self.failure = _reason(challenge)
            return
        signed = await self.request(
            {
                "type": "auth_verify",
                "walletAddress": self.wallet.address,
                "signature": self.wallet.sign(challenge["nonce"]),
            }
        )
        if signed.get("type") != "auth_success":
            self.failure = _reason(signed)
            return
        self.times["signed"] = time.monotonic()
        self.times["new_user"] = float(bool(signed.get("isNewUser")))
        joined = await self.request({"type": "join", "room": self.room})
        if joined.get("type") != "joined":
            self.failure = _reason(joined)
            return
        self.times["joined"] = time.monotonic()
        self.player_id, self.room = joined["playerId"], joined["room"]
        me = next(p for p in joined["players"] if p["playerId"] == self.player_id)
        self.origin = (me["x"], me["y"])

    @property
    def walking(self) -> bool:
        return "joined" in self.times and self.socket is not None and not self.socket.closed.done()

    def move(self) -> None:
        assert self.socket is not None
        self.k += 1
        x, y = path_point(self.k, self.origin)
        self.pending.append((self.k, time.monotonic()))
        self.sent += 1
        self.socket.send_text(b'{"type":"move","x":%r,"y":%r}' % (x, y))

    def _moves(self, moves: list[dict[str, Any]], now: float) -> None:
        for entry in moves:
            if entry["playerId"] == self.player_id:
                self._covered(entry["x"], entry["y"], now)

    def _covered(self, x: float, y: float, now: float) -> None:
        """Every pending move up to the one at (x, y) has been delivered."""
        pending = self.pending
        target = next((k for k, _ in pending if path_point(k, self.origin) == (x, y)), None)
        if target is None:
            return
        while pending and pending[0][0] <= target:
            sent_at = pending.popleft()[1]
            self.samples.append((sent_at, now - sent_at))

    def result(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "times": self.times,
            "failure": self.failure,
            "room": self.room,
            "close_code": self.socket.close_code if self.socket else None,
            "sent": self.sent,
            "uncovered": len(self.pending),
            "samples": self.samples,
        }


def _reason(frame: dict[str, Any]) -> str:
    if frame.get("type") == "auth_failure":
        return f"auth_failure: {frame.get('error')}"
    if frame.get("type") == "error":
        return f"error: {frame.get('code')}"
    return f"unexpected {frame.get('type')}"


async def _walk(
    clients: list[Client], stop: asyncio.Event, lags: list[tuple[float, float]]
) -> None:
    """Every seated client moves every 100 ms, its slot fixed by its index, until `stop`.
    `lags` gets (when, how late) for each slot: this loop's own lag, which the
    latencies it measures include."""
    groups = [clients[i::SLOTS] for i in range(SLOTS)]
    period = 1.0 / MOVE_HZ / SLOTS
    started = time.monotonic()
    tick = 0
    while not stop.is_set():
        due = started + tick * period
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        now = time.monotonic()
        if now - due > period:
            lags.append((due, now - due))
        for client in groups[tick % SLOTS]:
            if client.walking:
                client.move()
        tick += 1


async def run_worker(port: int, specs: list[tuple[int, bytes, str, float]],
                     settings: dict[str, Any], control: Any) -> dict[str, Any]:  # fmt: skip
    """Open each client at its time, walk the seated ones until told to stop, report."""
    clients = [Client(i, SeededWallet(seed), room, at) for i, seed, room, at in specs]
    stop = asyncio.Event()
    lags: list[tuple[float, float]] = []
    walker = asyncio.create_task(_walk(clients, stop, lags))

    async def open_at(client: Client) -> None:
        await asyncio.sleep(max(0.0, client.opens_at - time.monotonic()))
        await client.enter("127.0.0.1", port, settings["timeout"])

    await asyncio.gather(*(open_at(c) for c in clients))
    control["settled"].put(os.getpid())
    await asyncio.to_thread(control["stop"].wait)
    stop.set()
    await walker
    await asyncio.sleep(settings["drain"])  # the last batches arrive
    results = {"clients": [c.result() for c in clients], "lags": lags}
    for client in clients:
        if client.socket is not None:
            client.socket.close()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            await asyncio.gather(*(c.socket.closed for c in clients if c.socket is not None))
    return results


def worker(port: int, specs: list[tuple[int, bytes, str, float]], settings: dict[str, Any],
           control: Any) -> None:  # fmt: skip
    """A worker process: `nice`, then one uvloop loop (when installed) for its clients."""
    os.nice(settings["nice"])
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    control["results"].put(runner(run_worker(port, specs, settings, control)))
