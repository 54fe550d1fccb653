"""Economy requests in a loop, each recorded with what the server answered: purchases over
the WebSocket and staff grants over the HTTP staff API. After the run, `check_ledger`
compares what was acknowledged with what the ledger holds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from tests.chaos.support import Player

ITEM, PRICE = "puffle_o", 10  # a consumable: it can be bought again and again
GRANT = 1


@dataclass
class Request:
    """One economy request: its ledger key, when it was sent and answered, and how."""

    kind: str  # "purchase" or "grant"
    wallet: str
    key: str  # the idempotency key the ledger stores
    client_key: str  # the key the client sent
    sent: float
    answered: float = 0.0
    ok: bool = False
    code: str | None = None  # the error code when not ok
    status: int | None = None  # HTTP status of a grant
    balance: int | None = None
    transaction_id: str | None = None

    @property
    def seconds(self) -> float:
        return self.answered - self.sent


@dataclass
class EconomyLoad:
    """Shoppers buy `ITEM` one purchase after another; granters give `GRANT` coin to the
    shoppers in turn through `POST /admin/coins`. Every request lands in `requests`."""

    url: str
    admin_token: str
    shoppers: list[Player]
    requests: list[Request] = field(default_factory=list)
    pause: float = 0.05
    acknowledged: asyncio.Event = field(default_factory=asyncio.Event)  # set on each success

    async def fund(self) -> None:
        """A million coins each, so no purchase of the run is short of coins."""
        async with httpx.AsyncClient(timeout=60) as http:
            for shopper in self.shoppers:
                wallet = shopper.wallet.address
                request = await self._grant(http, wallet, f"fund-{shopper.player_id}")
                assert request.ok, request
        self.requests.clear()  # the funding is not part of what is measured

    async def shop(self, shopper: Player, stop: asyncio.Event) -> None:
        number = 0
        while not stop.is_set() and shopper.open:
            number += 1
            await self.buy(shopper, f"s{number}")
            await asyncio.sleep(self.pause)

    async def buy(self, shopper: Player, client_key: str) -> Request:
        wallet = shopper.wallet.address
        request = Request("purchase", wallet, f"purchase:{wallet}:{client_key}", client_key,
                          time.monotonic())  # fmt: skip
        self.requests.append(request)
        reply = await shopper.call(
            {"type": "purchase", "itemId": ITEM, "idempotencyKey": client_key}, timeout=120
        )
        request.answered = time.monotonic()
        if reply["type"] == "purchase_result":
            request.ok, request.balance = True, reply["coins"]
            self.acknowledged.set()
        else:
            request.code = reply.get("code")
        return request

    async def grant(self, stop: asyncio.Event, offset: int = 0) -> None:
        number = 0
        async with httpx.AsyncClient(timeout=120) as http:
            while not stop.is_set():
                shopper = self.shoppers[(number + offset) % len(self.shoppers)]
                number += 1
                await self._grant(http, shopper.wallet.address, f"g{offset}-{number}", GRANT)
                await asyncio.sleep(self.pause)

    async def _grant(
        self, http: httpx.AsyncClient, wallet: str, client_key: str, amount: int = 1_000_000
    ) -> Request:
        request = Request("grant", wallet, f"admin:{client_key}", client_key, time.monotonic())
        self.requests.append(request)
        try:
            response = await http.post(
                self.url + "/admin/coins",
                headers={"authorization": f"Bearer {self.admin_token}"},
                json={"walletAddress": wallet, "amount": amount, "reason": "chaos test grant",
                      "idempotencyKey": client_key},
            )  # fmt: skip
        except httpx.HTTPError as error:
            request.answered, request.code = time.monotonic(), f"http:{type(error).__name__}"
            return request
        request.answered, request.status = time.monotonic(), response.status_code
        body = _json(response)
        if response.status_code == 200:
            request.ok, request.balance = True, body["balance"]
            request.transaction_id = body["transactionId"]
            self.acknowledged.set()
        else:
            request.code = body.get("code", f"http:{response.status_code}")
        return request

    async def retry_failed(self) -> list[Request]:
        """Send every refused request again with its own key (what a client told
        `unavailable` does); returns the retries."""
        failed = [r for r in self.requests if not r.ok]
        retries = []
        by_wallet = {s.wallet.address: s for s in self.shoppers}
        async with httpx.AsyncClient(timeout=60) as http:
            for request in failed:
                if request.kind == "purchase":
                    retry = await self.buy(by_wallet[request.wallet], request.client_key)
                else:
                    retry = await self._grant(http, request.wallet, request.client_key, GRANT)
                retries.append(retry)
        return retries

    def answered_between(self, since: float, until: float) -> list[Request]:
        return [r for r in self.requests if since <= r.answered <= until]

    def failures(self) -> Counter[str]:
        return Counter(f"{r.kind}:{r.status or ''}{r.code}" for r in self.requests if not r.ok)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        return {}
    return body


@dataclass
class LedgerCheck:
    acknowledged: int
    lost: list[str]  # acknowledged keys with no ledger entry, or a different one
    unknown: list[str]  # ledger entries of the load's wallets with a key nobody sent
    duplicates: list[str]
    entries: int


async def check_ledger(uri: str, database: str, load: EconomyLoad) -> LedgerCheck:
    """Every acknowledged request has its ledger entry, with the acknowledged balance (and
    for a grant the acknowledged transaction id); no entry has a key that was not sent;
    no key twice."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        wallets = [s.wallet.address for s in load.shoppers]
        cursor = client[database]["transactions"].find({"walletAddress": {"$in": wallets}})
        entries = await cursor.to_list()
    finally:
        await client.close()
    by_key: dict[str, dict[str, Any]] = {}
    duplicates = []
    for entry in entries:
        key = entry["idempotencyKey"]
        if key in by_key:
            duplicates.append(key)
        by_key[key] = entry
    sent = {r.key for r in load.requests} | {k for k in by_key if k.startswith("admin:fund-")}
    lost = []
    acknowledged = [r for r in load.requests if r.ok]
    for request in acknowledged:
        entry = by_key.get(request.key) or {}
        same_id = request.transaction_id in (None, str(entry.get("_id")))
        if entry.get("balanceAfter") != request.balance or not same_id:
            lost.append(request.key)
    unknown = sorted(set(by_key) - sent)
    return LedgerCheck(len(acknowledged), lost, unknown, duplicates, len(entries))
