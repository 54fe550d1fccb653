"""The whole log of a real `clubpengu serve` through a scripted session (sign-ins over HTTP
and WebSocket, moves, chat, a purchase, a staff grant, a promo code, a puffle, a migrated
save, a wagered match, a logout, a forged signature, all behind a trusted proxy): every
line is JSON with ts/level/node; each connection has one open and one close line and each
economy action one `economy` line; and no line holds a token, signature, nonce, key, the
JWT secret, a whole wallet address or a client's address."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import base58
import httpx
import pytest
import websockets

from clubpengu.services.ledger import short_wallet
from tests.support import NO_FARM_LIMITS, Client, Wallet, http_sign_in, serving

pytestmark = pytest.mark.slow

NODE = "log-node-7"
JWT_SECRET = "log-scan-" + secrets.token_urlsafe(40)
CLIENT_IP = "203.0.113.7"  # TEST-NET-3: what the trusted proxy says the player's address is
FORWARDED = {"X-Forwarded-For": CLIENT_IP}
WIN_FOR_SEAT_0 = [0, 3, 1, 4, 2]  # tic-tac-toe: seat 0 takes the top row
SAVE = {
    "penguin_name": "Waddles",
    "clubpenguin_save": {"coins": 1200, "stamps": ["first_login"]},
    "puffles": [{"name": "Blinky", "color": "blue"}],
}


@dataclass
class Script:
    """What the session used that must never be in the log, and what it did."""

    admin: Wallet = field(default_factory=Wallet)
    alice: Wallet = field(default_factory=Wallet)
    bob: Wallet = field(default_factory=Wallet)
    carol: Wallet = field(default_factory=Wallet)
    mallory: Wallet = field(default_factory=Wallet)
    secrets: set[str] = field(default_factory=set)

    @property
    def wallets(self) -> list[Wallet]:
        return [self.admin, self.alice, self.bob, self.carol, self.mallory]

    def keep_signature(self, signature_b58: str) -> None:
        raw = base58.b58decode(signature_b58)
        self.secrets |= {signature_b58, raw.hex(), *_base64_forms(raw)}

    def keep_challenge(self, text: str) -> None:
        nonce = re.search(r"^Nonce: (\S+)$", text, re.MULTILINE)
        assert nonce is not None, text
        self.secrets |= {text, nonce.group(1)}


def _base64_forms(raw: bytes) -> set[str]:
    forms = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return forms | {form.rstrip("=") for form in forms}


def _key_forms(wallet: Wallet) -> set[str]:
    seed = bytes(wallet.key)
    keypair = seed + bytes(wallet.key.verify_key)  # Phantom's exported "private key"
    forms = set()
    for raw in (seed, keypair):
        forms |= {raw.hex(), base58.b58encode(raw).decode(), *_base64_forms(raw)}
    return forms


@contextlib.asynccontextmanager
async def _socket(url: str) -> AsyncIterator[Client]:
    async with websockets.connect(
        url, additional_headers=FORWARDED, max_size=None, max_queue=None
    ) as ws:
        yield Client(ws)


async def _ws_sign_in(client: Client, wallet: Wallet, script: Script) -> str:
    challenge = await client.call({"type": "auth_request"})
    script.keep_challenge(challenge["nonce"])
    signature = wallet.sign(challenge["nonce"])
    script.keep_signature(signature)
    reply = await client.call(
        {"type": "auth_verify", "walletAddress": wallet.address, "signature": signature}
    )
    assert reply["type"] == "auth_success", reply
    token: str = reply["token"]
    script.secrets.add(token)
    return token


async def _http_sign_in(http: httpx.AsyncClient, wallet: Wallet, script: Script) -> str:
    signed = await http_sign_in("", wallet, http)
    script.keep_challenge(signed.nonce)
    script.keep_signature(signed.signature)
    script.secrets.add(signed.token)
    return signed.token


async def _grant(http: httpx.AsyncClient, wallet: Wallet, coins: int) -> None:
    body = {"walletAddress": wallet.address, "amount": coins, "reason": "log test grant",
            "idempotencyKey": f"grant-{wallet.address[:8]}"}  # fmt: skip
    reply = await http.post("/admin/coins", json=body)
    assert reply.status_code == 200, reply.text


async def _play_match(alice: Client, bob: Client, bob_player: str) -> None:
    """Alice challenges Bob (wager 10), Bob accepts, seat 0 wins in five moves."""
    sent = await alice.call(
        {"type": "challenge", "targetPlayerId": bob_player, "game": "tictactoe", "wager": 10}
    )
    assert sent["type"] == "challenge_sent", sent
    await bob.recv_type("challenge")
    started_bob = await bob.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    started_alice = await alice.recv_type("match_start")
    seats = {started_alice["seat"]: alice, started_bob["seat"]: bob}
    for turn, cell in enumerate(WIN_FOR_SEAT_0):
        reply = await seats[turn % 2].call(
            {"type": "match_move", "matchId": started_bob["matchId"], "move": {"cell": cell}}
        )
        assert reply["type"] in {"match_state", "match_end"}, reply
    for client in (alice, bob):
        await client.recv_type("match_end")


async def _session(port: int, script: Script) -> None:
    ws_url = f"ws://127.0.0.1:{port}/ws"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=FORWARDED) as http:
        admin_token = await _http_sign_in(http, script.admin, script)
        http.headers["Authorization"] = f"Bearer {admin_token}"
        async with _socket(ws_url) as carol:  # a new player bringing an old save
            await _ws_sign_in(carol, script.carol, script)
            migrated = await carol.call({"type": "migrate_data", "localData": SAVE})
            assert migrated["type"] == "migrate_result", migrated
        async with _socket(ws_url) as alice, _socket(ws_url) as bob:
            await _ws_sign_in(alice, script.alice, script)
            assert (await alice.call({"type": "join", "room": "plaza"}))["type"] == "joined"
            await _ws_sign_in(bob, script.bob, script)
            joined_bob = await bob.call({"type": "join", "room": "plaza"})
            await alice.send({"type": "move", "x": 300, "y": 400})
            await alice.send({"type": "chat", "text": "hello from the log test"})
            await alice.send({"type": "emote", "emote": "wave"})
            await _grant(http, script.alice, 1000)
            await _grant(http, script.bob, 100)
            bought = await alice.call({"type": "purchase", "itemId": "red", "idempotencyKey": "k1"})
            assert bought["type"] == "purchase_result", bought
            promo = {"code": "SPRING", "coins": 30, "maxRedemptions": 5}
            assert (await http.post("/admin/promos", json=promo)).status_code == 200
            redeemed = await alice.call({"type": "redeem_promo", "code": "spring"})
            assert redeemed["type"] == "promo_result", redeemed
            adopted = await alice.call({"type": "puffle_adopt", "color": "blue", "name": "Bubbles"})
            assert adopted["type"] == "puffle_adopted", adopted
            await _play_match(alice, bob, joined_bob["playerId"])
            await alice.call({"type": "logout"})
            with contextlib.suppress(websockets.ConnectionClosed):
                await alice.recv(timeout=5)
        async with _socket(ws_url) as mallory:  # someone else's key: a forged signature
            challenge = await mallory.call(
                {"type": "auth_request", "walletAddress": script.mallory.address}
            )
            script.keep_challenge(challenge["nonce"])
            forged = Wallet().sign(challenge["nonce"])
            script.keep_signature(forged)
            refused = await mallory.call(
                {"type": "auth_verify", "walletAddress": script.mallory.address,
                 "signature": forged}
            )  # fmt: skip
            assert refused["type"] == "auth_failure", refused


@dataclass
class Run:
    script: Script
    port: int
    text: str

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def messages(self, msg: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record["msg"] == msg]

    def conn_of(self, wallet: Wallet) -> str:
        """The connection the wallet signed in on (the `signed in` line over the WebSocket)."""
        [conn] = [
            r["conn"]
            for r in self.messages("signed in")
            if r["wallet"] == short_wallet(wallet.address) and "conn" in r
        ]
        return str(conn)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The scripted session, once, against a real server; its whole log once it stopped."""
    script = Script()
    env = {
        "NODE_ID": NODE,
        "JWT_SECRET": JWT_SECRET,
        "ADMIN_WALLETS": script.admin.address,
        "TRUSTED_PROXIES": "127.0.0.1",
        "DAILY_BONUS_COINS": "25",
        # Every economy action once: the bonus from the first join, the save applied at once.
        "DAILY_BONUS_MIN_AGE": "0",
        "MIGRATION_REVIEW_COINS": "50000",
        **NO_FARM_LIMITS,
        # debug has every line info has and more: what does not leak at debug cannot leak
        # in production
        "LOG_LEVEL": "debug",
    }
    data_dir: Path = tmp_path_factory.mktemp("logs") / "data"
    with serving(data_dir, env) as serve:
        asyncio.run(_session(serve.port, script))
    return Run(script, serve.port, serve.log())


def test_every_line_is_json_with_time_level_and_node(run: Run) -> None:
    lines = run.text.splitlines()

    records = [json.loads(line) for line in lines]

    assert len(records) > 20
    for record in records:
        assert {"ts", "level", "logger", "msg", "node"} <= set(record), record
        assert record["node"] == NODE
        assert record["level"] in {"debug", "info", "warning", "error", "critical"}
        assert datetime.fromisoformat(record["ts"]).tzinfo is not None


def test_each_connection_has_one_open_and_one_close_line(run: Run) -> None:
    opened = Counter(r["conn"] for r in run.messages("connection open"))
    closed = {r["conn"]: r for r in run.messages("connection closed")}

    assert len(opened) == 4 and set(opened.values()) == {1}  # carol, alice, bob, mallory
    assert len(run.messages("connection closed")) == 4 and set(closed) == set(opened)
    for record in closed.values():
        assert isinstance(record["code"], int)
        assert isinstance(record["duration"], float) and 0 <= record["duration"] < 60
    assert closed[run.conn_of(run.script.alice)]["code"] == 1000  # her logout


def test_each_economy_action_has_one_line(run: Run) -> None:
    lines = run.messages("economy")

    assert Counter(r["type"] for r in lines) == {
        "migration": 1, "daily_bonus": 2, "admin_adjustment": 2, "purchase": 1, "promo": 1,
        "puffle_adoption": 1, "match_escrow": 1, "match_payout": 1,
        "stamp_reward": 2,  # the first puffle's and the first win's stamps
    }  # fmt: skip
    for record in lines:
        for change in record.get("entries", [record]):
            assert set(change) >= {"wallet", "amount", "balance", "tx"}, record
            assert "…" in change["wallet"]
            assert re.fullmatch(r"[0-9a-f]{24}", change["tx"])
        assert record["actor"]
    [escrow] = [r for r in lines if r["type"] == "match_escrow"]
    assert [e["amount"] for e in escrow["entries"]] == [-10, -10]
    assert escrow["game"] == "tictactoe" and escrow["match"]


def test_economy_lines_name_the_connection_that_asked_for_them(run: Run) -> None:
    alice, bob, carol = (
        run.conn_of(w) for w in (run.script.alice, run.script.bob, run.script.carol)
    )
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in run.messages("economy"):
        by_type.setdefault(record["type"], []).append(record)

    assert by_type["migration"][0]["conn"] == carol
    assert by_type["migration"][0]["amount"] == 1200 and by_type["migration"][0]["puffles"] == 1
    assert {r["conn"] for r in by_type["daily_bonus"]} == {alice, bob}
    purchase = by_type["purchase"][0]
    assert (purchase["conn"], purchase["item"], purchase["amount"]) == (alice, "red", -20)
    assert (by_type["promo"][0]["conn"], by_type["promo"][0]["code"]) == (alice, "SPRING")
    assert by_type["puffle_adoption"][0]["conn"] == alice
    assert by_type["match_escrow"][0]["conn"] == bob  # his accept started the match
    # Seat 0 won, whoever drew it: the winning move. Its line holds the payout, and with it
    # (as `entries`) the house reward and any stamp the win brought.
    line = by_type["match_payout"][0]
    [payout] = [e for e in line.get("entries", [line]) if e["amount"] == 20]
    winner = next(
        w for w in (run.script.alice, run.script.bob) if payout["wallet"] == short_wallet(w.address)
    )
    assert line["conn"] == run.conn_of(winner)
    admin = f"admin:{short_wallet(run.script.admin.address)}"
    for grant in by_type["admin_adjustment"]:  # over HTTP: no connection, the admin acting
        assert "conn" not in grant and grant["actor"] == admin


def test_a_refused_sign_in_is_one_line_with_its_reason(run: Run) -> None:
    [refused] = run.messages("sign-in refused")

    assert refused["reason"] == "invalid_signature" and refused["level"] == "info"
    assert refused["conn"] in {r["conn"] for r in run.messages("connection open")}


def test_no_line_holds_a_token_signature_nonce_key_or_the_jwt_secret(run: Run) -> None:
    secret = run.script.secrets | {JWT_SECRET}
    for wallet in run.script.wallets:
        secret |= _key_forms(wallet)

    leaked = {value[:16] for value in secret if value in run.text}

    assert len(run.script.secrets) > 30  # 6 challenges, 6 signatures in 5 forms, 4 tokens
    assert leaked == set()


def test_no_line_holds_a_whole_wallet_address(run: Run) -> None:
    whole = {wallet.address for wallet in run.script.wallets}

    assert {address for address in whole if address in run.text} == set()
    assert short_wallet(run.script.alice.address) in run.text


def test_no_line_holds_a_client_address(run: Run) -> None:
    """The clients came from 127.0.0.1 through a trusted proxy that said 203.0.113.7. The
    only 127.0.0.1 in the log is the server's own listening address, with its port."""
    loopback = re.findall(r"127\.0\.0\.1(?::(\d+))?", run.text)

    assert CLIENT_IP not in run.text
    assert "203.0.113" not in run.text
    assert loopback and set(loopback) == {str(run.port)}
    for record in run.records:
        if "127.0.0.1" in json.dumps(record):
            assert record["msg"].startswith(("Uvicorn running on", "Club Pengu is up")), record
