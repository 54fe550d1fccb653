"""A server with every staff role configured, and HTTP tokens for its staff, for the
trust-and-safety tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.support import RunningServer, Wallet, run_server


async def http_token(http: httpx.AsyncClient, url: str, wallet: Wallet) -> str:
    """Sign in over HTTP (`POST /auth/challenge`, `POST /auth/verify`); the token."""
    challenge = (await http.post(url + "/auth/challenge", json={})).json()
    body = {
        "challengeId": challenge["challengeId"],
        "walletAddress": wallet.address,
        "signature": wallet.sign(challenge["nonce"]),
    }
    verified = await http.post(url + "/auth/verify", json=body)
    assert verified.status_code == 200, verified.text
    token: str = verified.json()["token"]
    return token


@dataclass
class StaffServer:
    server: RunningServer
    http: httpx.AsyncClient
    admin: Wallet = field(default_factory=Wallet)
    moderator: Wallet = field(default_factory=Wallet)
    analyst: Wallet = field(default_factory=Wallet)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def post(self, path: str, who: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(self.url + path, json=body, headers=self.auth(who))

    async def get(self, path: str, who: str, **params: Any) -> httpx.Response:
        return await self.http.get(self.url + path, params=params, headers=self.auth(who))


@contextlib.asynccontextmanager
async def staff_server(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]], **changes: Any
) -> AsyncIterator[StaffServer]:
    """A server whose ADMIN_WALLETS, MODERATOR_WALLETS and ANALYST_WALLETS each list one
    wallet, each signed in over HTTP (tokens `admin`, `moderator`, `analyst`)."""
    admin, moderator, analyst = Wallet(), Wallet(), Wallet()
    roles = settings.with_overrides(
        admin_wallets=frozenset({admin.address}),
        moderator_wallets=frozenset({moderator.address}),
        analyst_wallets=frozenset({analyst.address}),
        **changes,
    )
    async with run_server(roles, mongo_client) as server, httpx.AsyncClient(timeout=10) as http:
        staff = StaffServer(server, http, admin, moderator, analyst)
        for name, wallet in (("admin", admin), ("moderator", moderator), ("analyst", analyst)):
            staff.tokens[name] = await http_token(http, server.url, wallet)
        yield staff
