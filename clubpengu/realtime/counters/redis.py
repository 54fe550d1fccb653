"""Shared counters in Redis (REDIS_URL): the sign-in limit per address as a token bucket
(`limit:<kind>:<address>`), and each address's open sockets as a sorted set of connection
ids scored by when their count lapses (`conns:<address>`) — one script, one round trip,
each. A node refreshes its connections' counts every third of COUNT_LAPSE, so the counts
of a node that died go away by themselves within it. Each address's messages are counted
per window (`msgs:<address>:<window>`): a node adds what it let through since it last
said, for all its addresses in one script (services/message_budget.py).

Addresses are not stored as such: a key names an address by a keyed hash (the key derived
from the JWT secret, which every node shares), as the connection log does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from clubpengu.realtime.bus.backends.redis import RedisBus
from clubpengu.realtime.counters.base import CountersUnavailable
from clubpengu.realtime.lua import read_script
from clubpengu.realtime.names import address_count_key, address_limit_key, message_count_key

BUCKET = read_script("clubpengu.realtime.counters", "bucket.lua")
OPEN = read_script("clubpengu.realtime.counters", "open.lua")
REFRESH = read_script("clubpengu.realtime.counters", "refresh.lua")
MESSAGES = read_script("clubpengu.realtime.counters", "messages.lua")
COUNT_LAPSE = 60.0  # seconds an open socket stays counted without a refresh
HASH_BYTES = 16
ADDRESSES_PER_CALL = 500  # one script call's share of a node's addresses: Redis stays free


class RedisCounters:
    def __init__(self, bus: RedisBus, secret: str) -> None:
        self.bus = bus
        self._key = hmac.new(secret.encode(), b"address-counters", hashlib.sha256).digest()

    def _hashed(self, address: str) -> str:
        digest = hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()
        return digest[: HASH_BYTES * 2]

    async def _run(self, script: str, key: str, *args: Any) -> Any:
        return await self._eval(script, [key], *args)

    async def _eval(self, script: str, keys: list[str], *args: Any) -> Any:
        if not self.bus.up:
            raise CountersUnavailable("redis is down")
        try:
            async with asyncio.timeout(self.bus.timeout):
                return await self.bus.client.eval(script, len(keys), *keys, *args)
        except Exception as error:
            raise CountersUnavailable(type(error).__name__) from error

    async def take(self, key: str, rate: float, per: float) -> bool:
        kind, _, address = key.partition(":")
        redis_key = address_limit_key(kind, self._hashed(address))
        refill = rate / (per * 1000.0)
        return bool(await self._run(BUCKET, redis_key, rate, repr(refill)))

    async def open(self, key: str, member: str, limit: int) -> bool:
        redis_key = address_count_key(self._hashed(key))
        lapse = int(COUNT_LAPSE * 1000)
        return bool(await self._run(OPEN, redis_key, member, limit, lapse))

    def close(self, key: str, member: str) -> None:
        self.bus.send("ZREM", address_count_key(self._hashed(key)), member)

    async def refresh(self, members: Iterable[tuple[str, str]]) -> None:
        lapse = int(COUNT_LAPSE * 1000)
        for key, member in members:
            self.bus.send("EVAL", REFRESH, 1, address_count_key(self._hashed(key)), member, lapse)

    async def add_messages(
        self, counts: Mapping[str, int], window: float
    ) -> tuple[dict[str, int], float]:
        window_ms = max(1, round(window * 1000))
        addresses = list(counts)
        totals: dict[str, int] = {}
        left_ms = window_ms
        for start in range(0, len(addresses), ADDRESSES_PER_CALL):
            chunk = addresses[start : start + ADDRESSES_PER_CALL]
            keys = [message_count_key(self._hashed(address)) for address in chunk]
            *counted, left_ms = await self._eval(
                MESSAGES, keys, window_ms, *(counts[address] for address in chunk)
            )
            totals.update(zip(chunk, (int(total) for total in counted), strict=True))
        return totals, int(left_ms) / 1000.0
