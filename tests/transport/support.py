"""Helpers for the transport tests: a server with staff, each signed in over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.support import RunningServer, Wallet, http_token, run_server


@dataclass
class Staff:
    """A running server whose settings make `admin` an admin and `analyst` an analyst;
    `player` is neither. `tokens` holds a bearer token of each, by role name."""

    server: RunningServer
    http: httpx.AsyncClient
    admin: Wallet
    analyst: Wallet
    player: Wallet
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str | None = "admin", **params: Any) -> Any:
        headers = self.auth(who) if who else {}
        return self.http.get(self.server.url + path, headers=headers, params=params)

    async def read(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.get(path, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def staffed(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[Staff]:
    """A server with an admin, an analyst and a player signed in over HTTP."""
    admin, analyst, player = Wallet(), Wallet(), Wallet()
    roles = settings.with_overrides(
        admin_wallets=frozenset({admin.address}), analyst_wallets=frozenset({analyst.address})
    )
    async with run_server(roles, mongo_client) as server, httpx.AsyncClient() as http:
        tokens = {
            "admin": await http_token(server.url, admin, http),
            "analyst": await http_token(server.url, analyst, http),
            "player": await http_token(server.url, player, http),
        }
        yield Staff(server, http, admin, analyst, player, tokens)
