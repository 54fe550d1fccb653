"""Shared pieces of the benchmark scripts: a `clubpengu serve` child on a temp data
directory, process CPU/RSS sampling, percentiles, and a wallet that signs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import base58
from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parent.parent
NO_FARM_LIMITS = {
    "NEW_ACCOUNTS_PER_IP_PER_DAY": "0", "WAGER_MIN_ACCOUNT_AGE": "0", "WAGER_MIN_MATCHES": "0",
    "WAGER_PAIR_DAILY_LIMIT": "0", "WAGER_DAILY_WIN_LIMIT": "0",
}  # fmt: skip
# Benchmarks run thousands of clients from one address: every per-address limit is off
# (docs/operations.md, "Limits at the edge").
NO_ADDRESS_LIMITS = {
    "AUTH_RATE_PER_IP": "0",
    "MAX_CONNECTIONS_PER_IP": "0",
    "MESSAGE_RATE_PER_IP": "0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Wallet:
    def __init__(self, seed: bytes | None = None) -> None:
        self.key = SigningKey(seed) if seed else SigningKey.generate()
        self.address = base58.b58encode(bytes(self.key.verify_key)).decode()

    def sign(self, text: str) -> str:
        return base58.b58encode(self.key.sign(text.encode()).signature).decode()


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def database_pid(self) -> int:
        """The embedded SecantusDB child of the server."""
        return int((self.data_dir / "secantusd.pid").read_text())


@contextlib.contextmanager
def serve(env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start `clubpengu serve` on the embedded database in a temp dir; stop it after."""
    with tempfile.TemporaryDirectory() as tmp, serve_node(Path(tmp) / "data", env or {}) as server:
        yield server


@contextlib.contextmanager
def serve_node(data_dir: Path, env: dict[str, str]) -> Iterator[Server]:
    """Start `clubpengu serve` with `env` (which names its database, e.g. MONGODB_URI) on a
    free port, its log in the data directory's parent; stop it after."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    # A benchmark signs in many wallets from one address and wagers with wallets made a
    # second ago: the per-address limits and the farm defences are off (docs/economy.md).
    full_env.update(NO_ADDRESS_LIMITS | {"LOG_LEVEL": "warning"} | NO_FARM_LIMITS | env)
    clubpengu = Path(sys.executable).with_name("clubpengu")
    command = [str(clubpengu), "serve", "--port", str(port), "--data-dir", str(data_dir)]
    log = open(data_dir.parent / f"serve-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    try:
        _wait_healthy(port, process)
        yield Server(process, port, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:  # report the run's own error, not this one
            process.kill()
            process.wait()
        log.close()


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A `redis-server` of its own on a free port, without persistence: (process, URL)."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(directory)]  # fmt: skip
    log = open(directory / "redis.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.02)
        yield process, f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r,
        ):
            if r.status == 200:
                return
        time.sleep(0.05)
    raise SystemExit("server not healthy within 60 s")


class ProcessSampler:
    """CPU % and RSS of a process from /proc (Linux), between `start()` and `stop()`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.started: tuple[float, float] | None = None

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.ticks

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def start(self) -> None:
        self.started = (time.monotonic(), self.cpu_seconds())

    def cpu_percent(self) -> float:
        assert self.started is not None
        wall = time.monotonic() - self.started[0]
        return 100 * (self.cpu_seconds() - self.started[1]) / wall if wall else 0.0


def _cpu_times() -> tuple[int, int]:
    """All CPUs' (total, idle + iowait) ticks since boot (/proc/stat, Linux)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


class MachineSampler:
    """How busy the whole machine was between `start()` and `busy_percent()`, as a sum
    over its cores (so 0-200 % on two), to set beside the processes' own CPU: whatever
    the processes named do not account for is the rest of the machine."""

    def __init__(self) -> None:
        self.cores = os.cpu_count() or 1
        self.started: tuple[int, int] | None = None

    def start(self) -> None:
        self.started = _cpu_times()

    def busy_percent(self) -> float:
        assert self.started is not None
        total, idle = _cpu_times()
        spent = max(1, total - self.started[0])
        return round(100 * self.cores * (1 - (idle - self.started[1]) / spent), 1)


def idle_percent(seconds: float = 2.0) -> float:
    """Share of all CPUs left idle over `seconds` (/proc/stat, Linux)."""

    total, idle = _cpu_times()
    time.sleep(seconds)
    total2, idle2 = _cpu_times()
    return round(100 * (idle2 - idle) / max(1, total2 - total), 1)


def summary_ms(samples: list[float]) -> dict[str, float]:
    """count, median, p95, p99, max of latencies given in seconds, in milliseconds."""
    if not samples:
        return {"count": 0}
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return {
        "count": len(ms),
        "p50": round(statistics.median(ms), 2),
        "p95": round(q[94], 2),
        "p99": round(q[98], 2),
        "max": round(ms[-1], 2),
    }


def git_revision() -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    return "unknown"


def write_json(path: Path | None, figures: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(figures | {"git": git_revision()}, indent=2))


ROOM_TRAFFIC = ("moves", "chat", "emote")


class JsonClient:
    """A benchmark's request/reply client on a `websockets` connection: `call` returns the
    reply carrying its rid, `wait` the next push of a kind; other frames are kept for a
    later `wait`, except room traffic (moves, chat, emotes), which a match player does not
    need. Nothing waits longer than `timeout` seconds: a slow reply is an error, not a
    hang."""

    def __init__(self, ws: Any, timeout: float = 60.0) -> None:
        self.ws, self.timeout = ws, timeout
        self.rid = 0
        self.held: list[dict[str, Any]] = []

    async def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.rid += 1
        await self.ws.send(json.dumps(payload | {"rid": self.rid}))  # a text frame
        async with asyncio.timeout(self.timeout):
            while True:
                frame: dict[str, Any] = json.loads(await self.ws.recv())
                if frame.get("rid") == self.rid:
                    return frame
                if frame.get("type") not in ROOM_TRAFFIC:
                    self.held.append(frame)

    async def wait(self, kind: str) -> dict[str, Any]:
        for i, frame in enumerate(self.held):
            if frame.get("type") == kind:
                return self.held.pop(i)
        async with asyncio.timeout(self.timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                if frame.get("type") == kind:
                    return frame
                if frame.get("type") not in ROOM_TRAFFIC:
                    self.held.append(frame)


Request = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def sign_in(request: Request, wallet: Wallet) -> dict[str, Any]:
    """auth_request, then auth_verify with a real ed25519 signature over the server's
    nonce; returns the reply to auth_verify (`auth_success`, or whatever came instead).
    `request` sends a frame and returns its reply."""
    challenge = await request({"type": "auth_request"})
    return await request(
        {
            "type": "auth_verify",
            "walletAddress": wallet.address,
            "signature": wallet.sign(str(challenge["nonce"])),
        }
    )


async def sign_in_and_join(request: Request, wallet: Wallet, room: str) -> dict[str, Any]:
    """Sign in (`sign_in`) and join `room`; returns the `joined` reply."""
    signed = await sign_in(request, wallet)
    assert signed["type"] == "auth_success", signed
    joined = await request({"type": "join", "room": room})
    assert joined["type"] == "joined", joined
    return joined
