"""Helpers for tests: a real uvicorn server in the test's event loop, WebSocket clients,
and `clubpengu serve` as a real child process."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import base58
import httpx
import pytest
import uvicorn
import websockets
from pymongo import AsyncMongoClient

from clubpengu.cli.serve import _Server, server_options
from clubpengu.config import Settings
from clubpengu.db import free_port
from clubpengu.models import User
from clubpengu.node import Node
from clubpengu.transport.app import build_app
from clubpengu.transport.router import Router
from tests.waiting import ConditionNotMet, eventually, wait_until

ROOT = Path(__file__).resolve().parent.parent
# The farm defences off, as the `settings` fixture has them, for servers started as
# processes: tests of other things sign up many wallets from one address and wager at once.
NO_FARM_LIMITS = {
    "NEW_ACCOUNTS_PER_IP_PER_DAY": "0", "WAGER_MIN_ACCOUNT_AGE": "0", "WAGER_MIN_MATCHES": "0",
    "WAGER_PAIR_DAILY_LIMIT": "0", "WAGER_DAILY_WIN_LIMIT": "0",
}  # fmt: skip
ECONOMY_DEFAULTS = (
    "daily_bonus_coins", "new_accounts_per_ip_per_day", "wager_min_account_age",
    "wager_min_matches", "wager_pair_daily_limit", "wager_daily_win_limit",
    "match_reward_daily_cap",
)  # fmt: skip


def economy_defaults(settings: Settings) -> Settings:
    """`settings` with the economy as it ships: the daily bonus on and every farm defence at
    its default (the `settings` fixture turns them off for the tests of everything else)."""
    shipped = Settings()
    return settings.with_overrides(**{name: getattr(shipped, name) for name in ECONOMY_DEFAULTS})


CLUBPENGU = Path(sys.executable).with_name("clubpengu")


@dataclass
class RunningServer:
    server: uvicorn.Server
    port: int
    app: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def node(self) -> Node:
        """The node the app runs (clubpengu/node.py), for tests that reach a service."""
        node: Node = self.app.state.node
        return node

    @property
    def router(self) -> Router:
        """The node's WebSocket dispatch table."""
        router: Router = self.app.state.sockets.router
        return router


class MovableClock:
    """A clock a test moves by hand (`advance`), handed to a served node's services: days
    pass at once and nothing sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextlib.asynccontextmanager
async def run_server(
    settings: Settings,
    client: AsyncMongoClient[dict[str, Any]] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[RunningServer]:
    """Serve the app with uvicorn on a free loopback port inside the current event loop;
    `clock` (a MovableClock) replaces the wall clock for the node's services."""
    app = build_app(settings, client) if clock is None else build_app(settings, client, clock=clock)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_config=None,
        timeout_graceful_shutdown=5,
        **server_options(settings),
    )
    server = _Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), "uvicorn started", timeout=60)
    if not server.started:
        task.result()
        raise RuntimeError("server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningServer(server, port, app)
    finally:
        server.should_exit = True
        await task


class Client:
    """A JSON WebSocket client with a receive timeout, for tests."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.held: list[dict[str, Any]] = []  # frames skipped by call(), read first later
        self._rids = 0

    async def send(self, payload: dict[str, Any] | str | bytes) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        await self.ws.send(payload)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        if self.held:
            return self.held.pop(0)
        async with asyncio.timeout(timeout):
            message: dict[str, Any] = json.loads(await self.ws.recv())
            return message

    async def request(self, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        await self.send(payload)
        return await self.recv(timeout)

    async def call(self, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send with a fresh rid and return the reply carrying it (without the rid); pushes
        that arrive first are kept for later recv()/recv_type()."""
        self._rids += 1
        rid = f"t{self._rids}"
        await self.send(payload | {"rid": rid})
        async with asyncio.timeout(timeout):
            while True:
                async with asyncio.timeout(timeout):
                    message: dict[str, Any] = json.loads(await self.ws.recv())
                if message.get("rid") == rid:
                    del message["rid"]
                    return message
                self.held.append(message)

    async def recv_type(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """Skip frames until one of type `kind` arrives."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                if message.get("type") == kind:
                    return message

    async def close(self) -> None:
        await self.ws.close()


# Test clients buffer without limit (max_queue=None): a client with unread pushes would
# otherwise stop reading its socket and never see the server's reply to its close.
@contextlib.asynccontextmanager
async def connect(url: str) -> AsyncIterator[Client]:
    async with websockets.connect(url, max_size=None, max_queue=None) as ws:
        yield Client(ws)


# --- `clubpengu serve` as a child process --------------------------------------------------


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log().splitlines():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
        return records

    def embedded_port(self) -> int:
        for record in self.log_records():
            if record.get("msg") == "embedded database ready":
                return int(record["port"])
        raise AssertionError("no embedded database line in the log")


def start_serve(
    data_dir: Path, env: dict[str, str] | None = None, *, port: int | None = None
) -> ServeProcess:
    port = port or free_port()
    log_path = data_dir.parent / f"serve-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    full_env.update({"CLUBPENGU_ENV": "development", "LOG_LEVEL": "info"})
    full_env.update(env or {})
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(CLUBPENGU), "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=data_dir.parent,
        )
    return ServeProcess(process, port, log_path)


def wait_healthy(serve: ServeProcess, timeout: float = 30.0) -> float:
    """Poll /health until 200; return the seconds it took."""
    started = time.monotonic()

    def healthy() -> bool:
        if serve.process.poll() is not None:
            raise AssertionError(f"serve exited with {serve.process.returncode}:\n{serve.log()}")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(serve.url + "/health", timeout=1).status_code == 200
        return False

    try:
        wait_until(healthy, "/health answers 200", timeout=timeout, every=0.05)
    except ConditionNotMet as error:
        raise AssertionError(f"{error}\n{serve.log()}") from None
    return time.monotonic() - started


def stop_serve(serve: ServeProcess, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
    if serve.process.poll() is None:
        serve.process.send_signal(sig)
    try:
        return serve.process.wait(timeout)
    except subprocess.TimeoutExpired:
        serve.process.kill()
        serve.process.wait()
        raise


@contextlib.contextmanager
def serving(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    serve = start_serve(data_dir, env)
    try:
        wait_healthy(serve)
        yield serve
    finally:
        if serve.process.poll() is None:
            stop_serve(serve)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return False
    return True


# --- wallets and sign-in ------------------------------------------------------------------


class Wallet:
    """A real ed25519 key pair, as Phantom holds one."""

    def __init__(self, seed: bytes | None = None) -> None:
        from nacl.signing import SigningKey

        self.key = SigningKey(seed) if seed else SigningKey.generate()
        self.address: str = base58.b58encode(bytes(self.key.verify_key)).decode()

    def sign(self, text: str) -> str:
        return base58.b58encode(self.key.sign(text.encode()).signature).decode()


async def sign_in(client: Client, wallet: Wallet, **request: Any) -> dict[str, Any]:
    """auth_request + auth_verify over a WebSocket; returns the auth_success frame."""
    challenge = await client.request({"type": "auth_request", **request})
    assert challenge["type"] == "auth_challenge", challenge
    reply = await client.request(
        {
            "type": "auth_verify",
            "walletAddress": wallet.address,
            "signature": wallet.sign(challenge["nonce"]),
        }
    )
    assert reply["type"] == "auth_success", reply
    return reply


async def disconnected(wallet: Wallet, timeout: float = 5.0) -> User:
    """The wallet's user once the server has recorded it disconnected (it writes that just
    after the socket ends, or after the reconnect grace). Not merely "not connected": a
    join does not wait for its presence write, so a user just seated may not be marked
    connected yet; the leave is the logout stamped at or after the last sign-in."""

    async def recorded() -> User | None:
        user = await User.find_one(User.wallet_address == wallet.address)
        if user is None or user.is_connected or user.last_logout_at is None:
            return None
        signed_in = user.last_login_at
        return user if signed_in is None or user.last_logout_at >= signed_in else None

    user: User = await eventually(recorded, "the leave was recorded", timeout=timeout)
    return user


async def enter(
    url: str, wallet: Wallet, room: str | None = None
) -> tuple[Client, dict[str, Any], dict[str, Any]]:
    """Open a connection, sign in and join; returns (client, auth_success, joined). The
    caller closes the client."""
    ws = await websockets.connect(url, max_size=None, max_queue=None)
    client = Client(ws)
    signed = await sign_in(client, wallet)
    joined = await client.request({"type": "join", **({"room": room} if room else {})})
    assert joined["type"] == "joined", joined
    return client, signed, joined


async def grant(server: RunningServer, wallet: Wallet, coins: int) -> None:
    """Give the wallet `coins` through the ledger, as an admin does (an `admin_adjustment`
    whose idempotency key is the wallet's: once per wallet)."""
    await server.node.services.economy.apply(
        wallet.address, coins, "admin_adjustment", idempotency_key=f"grant:{wallet.address}",
        actor="admin:test", reason="test grant",
    )  # fmt: skip


@dataclass
class HttpSignIn:
    """One HTTP sign-in, as a script does it: the nonce it signed, the signature it sent and
    the response to `POST /auth/verify`."""

    nonce: str
    signature: str
    response: httpx.Response

    @property
    def token(self) -> str:
        assert self.response.status_code == 200, self.response.text
        token: str = self.response.json()["token"]
        return token


async def http_sign_in(
    url: str, wallet: Wallet, http: httpx.AsyncClient | None = None
) -> HttpSignIn:
    """`POST /auth/challenge`, sign its nonce, `POST /auth/verify` (with `http`, or a client
    of its own with a timeout for a loaded machine); `url` is the server's base URL, or ""
    when `http` has one."""
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        challenge = (await http.post(url + "/auth/challenge", json={})).json()
        signature = wallet.sign(challenge["nonce"])
        body = {"challengeId": challenge["challengeId"], "walletAddress": wallet.address,
                "signature": signature}  # fmt: skip
        response = await http.post(url + "/auth/verify", json=body)
    return HttpSignIn(challenge["nonce"], signature, response)


async def http_token(url: str, wallet: Wallet, http: httpx.AsyncClient | None = None) -> str:
    """A bearer token from the HTTP sign-in (`http_sign_in`)."""
    return (await http_sign_in(url, wallet, http)).token


APT_TIMEOUT = 900  # seconds for one apt-get run (Chromium is about 20 s on this network)


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", *args], capture_output=True, text=True, env=env, timeout=APT_TIMEOUT
    )


def apt_install(package: str, wanted: Path, needed_by: str) -> Path:
    """`wanted`, installing Debian's `package` with apt-get first when it is missing (after
    `apt-get update` if the first try fails). Fails the test, never skips it, when that is
    not possible: a check that silently does not run is not a check."""
    if wanted.exists():
        return wanted
    if shutil.which("apt-get") is None:
        pytest.fail(f"{wanted} is missing and there is no apt-get to install it", pytrace=False)
    # The test processes (pytest-xdist's) install one at a time: apt holds a lock of its
    # own and refuses a second install meanwhile, rather than waiting.
    with open(Path(tempfile.gettempdir()) / "clubpengu-tests-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if wanted.exists():
            return wanted
        return _apt_install_locked(package, wanted, needed_by)


def _apt_install_locked(package: str, wanted: Path, needed_by: str) -> Path:
    result = _apt("install", "-y", package)
    if result.returncode != 0:
        _apt("update")
        result = _apt("install", "-y", package)
    if result.returncode != 0 or not wanted.exists():
        tail = (result.stdout + result.stderr)[-2000:]
        pytest.fail(
            f"could not install {package} with apt-get (exit {result.returncode}); "
            f"{needed_by} need {wanted} (run as root with access to Debian's packages):\n{tail}",
            pytrace=False,
        )
    return wanted


@contextlib.contextmanager
def fixes_applied() -> Iterator[None]:
    """Club Pengu's fixes to SecantusDB (clubpengu/secantus_process.py) applied in this
    process, for SecantusDB used in it (an in-process server, a `Storage`); as shipped
    after."""
    from secantus.server import SecantusDBServer
    from secantus.storage import Storage
    from secantus.transactions import TransactionRegistry

    from clubpengu import secantus_indexes, secantus_process

    patched = (*secantus_indexes.PATCHED, *secantus_process.PROFILE_METHODS)
    storage = {name: Storage.__dict__.get(name) for name in patched}
    prune = TransactionRegistry._prune_locked
    wait = SecantusDBServer.wait
    assert secantus_process.apply_fixes()
    try:
        yield
    finally:
        for name, shipped in storage.items():
            if shipped is None:
                delattr(Storage, name)
            else:
                setattr(Storage, name, shipped)
        TransactionRegistry._prune_locked = prune  # type: ignore[method-assign]
        SecantusDBServer.wait = wait  # type: ignore[method-assign]
