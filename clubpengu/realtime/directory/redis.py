"""Room instances and their members across nodes, in Redis (REDIS_URL): the shared
RoomDirectory (directory/base.py).

Keys (realtime/names.py):
- `rooms:<room>`: hash of the room's open instances, suffix -> the time (ms) it became
  empty, 0 while someone sits in it. The first instance (`1`) is always there.
- `room:<instance>`: hash of the instance's seats, player id -> `<node>\\n<player JSON>`;
  its length is the population. `pos:<instance>`: player id -> `x y`, the last position
  of each member, written once a tick per room by the node that has movers.
- `seats:<node>`: set of `<instance> <player id>` a node holds; `nodes`: the nodes that
  hold seats; `node:<node>`: the node's heartbeat (a TTL of NODE_TIMEOUT, refreshed every
  third of it); `reaped:<node>`: set when another node released a silent node's seats.

A reservation is one Lua script (lua/reserve.lua; every script is a file in lua/): it
closes instances empty for longer than the grace, picks the instance (the one asked for,
the preferred one, the fullest with a seat, or a new one with the smallest free suffix)
and takes the seat, atomically: two nodes never overfill an instance and always agree on
which instances exist. A release is awaited (one
round trip) so that the next reservation anywhere sees the seat free; positions and look
changes go through the bus's outbox and never make a caller wait on Redis.

A node whose heartbeat lapses (it crashed, or was cut off for NODE_TIMEOUT) is reaped by
the first surviving node that notices: one script takes all its seats away, so exactly one
node reports them; that node tells the rooms (`player_left`) and resets the players'
presence in MongoDB. A node that finds its own heartbeat gone (Redis restarted empty, or
it was reaped while cut off) puts its seats back; if it had been reaped it announces its
players to the rooms again.

While Redis is down, the node seats players by its own count (`LocalDirectory`, which
mirrors this node's seats at all times): local rooms keep working, and an instance may
then hold more than its capacity across nodes until Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from clubpengu.background import PeriodicTask
from clubpengu.realtime.bus.backends.redis import RedisBus
from clubpengu.realtime.directory.base import (
    InstanceListing,
    RoomListing,
    closed_error,
    full_error,
)
from clubpengu.realtime.directory.local import LocalDirectory
from clubpengu.realtime.instances import MAX_SUFFIX, instance_id, parse_instance
from clubpengu.realtime.lua import read_script
from clubpengu.realtime.names import NODES_KEY, node_key, positions_key, room_members_key
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec

logger = logging.getLogger(__name__)
REAPED_TTL_MS = 3_600_000

_PACKAGE = "clubpengu.realtime.directory"
# open.lua finds a room's open instances; the scripts that choose among them follow it.
_OPEN = read_script(_PACKAGE, "open.lua")
RESERVE = _OPEN + read_script(_PACKAGE, "reserve.lua")
LIST = _OPEN + read_script(_PACKAGE, "list.lua")
RELEASE = read_script(_PACKAGE, "release.lua")
UPDATE = read_script(_PACKAGE, "update.lua")
REAP = read_script(_PACKAGE, "reap.lua")
RESTORE = read_script(_PACKAGE, "restore.lua")

Reaped = Callable[[str, list[tuple[str, str]]], Awaitable[None]]
Restored = Callable[[list[tuple[str, dict[str, Any]]]], Awaitable[None]]


class RedisDirectory:
    """The RoomDirectory of a node among many (see the module docstring)."""

    shared = True

    def __init__(
        self,
        bus: RedisBus,
        catalogue: RoomCatalogue,
        node_id: str,
        *,
        close_grace: float,
        node_timeout: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bus = bus
        self.catalogue = catalogue
        self.node_id = node_id
        self.close_grace = close_grace
        self.node_timeout = node_timeout
        self.clock = clock
        self.local = LocalDirectory(catalogue, close_grace)  # this node's seats, always
        self.boot = secrets.token_hex(4)
        # Set by the node (clubpengu/parts.py): what to do with a silent node's seats, and
        # with this node's players when it finds it had been reaped itself.
        self.on_reaped: Reaped | None = None
        self.on_restored: Restored | None = None
        self._mine: dict[tuple[str, str], dict[str, Any]] = {}  # (instance, pid) -> player
        self._heartbeat = PeriodicTask(
            "directory-heartbeat", node_timeout / 3, self._keep_alive, stop_timeout=bus.timeout
        )
        bus.on_reconnect.append(self.restore)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            await self._beat()
        self._heartbeat.start()

    async def stop(self) -> None:
        """Stop the heartbeat and leave the directory (the seats were released as the
        node's players left)."""
        await self._heartbeat.stop()
        self.bus.send("DEL", node_key(self.node_id))
        self.bus.send("SREM", NODES_KEY, self.node_id)

    # --- RoomDirectory ------------------------------------------------------------------

    async def reserve(
        self,
        spec: RoomSpec,
        player: dict[str, Any],
        instance: str | None = None,
        prefer: str | None = None,
    ) -> str:
        pid: str = player["playerId"]
        if not self.bus.up:
            return await self._reserve_locally(spec, player, instance, prefer)
        try:
            result = await self._eval(
                RESERVE, spec.id, self._now_ms(), self._grace_ms(), spec.capacity, pid,
                self.node_id, self._value(player), _suffix(spec, instance),
                _suffix(spec, prefer), MAX_SUFFIX,
            )  # fmt: skip
        except (TimeoutError, OSError, ConnectionError) as error:
            logger.warning("redis directory unavailable; seating locally: %s", type(error))
            return await self._reserve_locally(spec, player, instance, prefer)
        ok, detail = int(result[0]), _text(result[1])
        if not ok:
            raise (
                closed_error(instance or spec.id)
                if detail == "closed"
                else full_error(spec, instance or spec.id)
            )
        self.local.seat(detail, pid)
        self._mine[(detail, pid)] = player
        return detail

    async def release(self, instance: str, player_id: str) -> None:
        """Give the seat back at once (awaited, so that the next reservation on any node
        sees it free). While Redis is down the seat stays there until `restore` puts this
        node's seats back as they are then."""
        await self.local.release(instance, player_id)
        self._mine.pop((instance, player_id), None)
        parsed = parse_instance(instance)
        if parsed is None or not self.bus.up:
            return
        with contextlib.suppress(TimeoutError, OSError, ConnectionError):
            await self._eval(
                RELEASE, parsed[0], parsed[1], instance, player_id, self.node_id, self._now_ms()
            )

    async def listing(self) -> list[RoomListing]:
        if not self.bus.up:
            return await self.local.listing()
        try:
            async with asyncio.timeout(self.bus.timeout):
                pipe = self.bus.client.pipeline(transaction=False)
                for room in self.catalogue.rooms:
                    pipe.execute_command("EVAL", LIST, 0, room, self._now_ms(), self._grace_ms())
                results = await pipe.execute()
        except (TimeoutError, OSError, ConnectionError):
            return await self.local.listing()
        listings = []
        for spec, flat in zip(self.catalogue.rooms.values(), results, strict=True):
            pairs = sorted((int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2))
            instances = [InstanceListing(instance_id(spec.id, s), pop) for s, pop in pairs]
            listings.append(RoomListing(spec, instances))
        return listings

    async def others(self, instance: str) -> list[dict[str, Any]]:
        if not self.bus.up:
            return []
        try:
            async with asyncio.timeout(self.bus.timeout):
                pipe = self.bus.client.pipeline(transaction=False)
                pipe.hgetall(room_members_key(instance))
                pipe.hgetall(positions_key(instance))
                members, positions = await pipe.execute()
        except (TimeoutError, OSError, ConnectionError):
            return []
        players = []
        for raw in members.values():
            node, _, body = _text(raw).partition("\n")
            if node == self.node_id:
                continue
            player = orjson.loads(body)
            where = positions.get(player["playerId"].encode())
            if where is not None:
                x, y = _text(where).split(" ")
                player["x"], player["y"] = float(x), float(y)
            players.append(player)
        return players

    def update(self, instance: str, player: dict[str, Any]) -> None:
        key = (instance, player["playerId"])
        if key in self._mine:
            self._mine[key] = player
            self.bus.send(
                "EVAL", UPDATE, 1, room_members_key(instance), player["playerId"],
                self._value(player),
            )  # fmt: skip

    def moved(self, instance: str, movers: list[tuple[str, float, float]]) -> None:
        if not movers:
            return
        fields: list[Any] = []
        for pid, x, y in movers:
            fields += (pid, f"{x!r} {y!r}")
        self.bus.send("HSET", positions_key(instance), *fields)

    # --- heartbeats, reaping and restoring ------------------------------------------------

    async def _keep_alive(self) -> None:
        """Every third of NODE_TIMEOUT while Redis is up: beat, then reap the silent."""
        if self.bus.up:
            await self._beat()
            await self._reap()

    async def _beat(self) -> None:
        """Refresh this node's heartbeat; put the seats back if it had lapsed."""
        async with asyncio.timeout(self.bus.timeout):
            previous = await self.bus.client.set(
                node_key(self.node_id), self.boot, px=int(self.node_timeout * 1000), get=True
            )
        if previous is None:
            await self.restore()

    async def restore(self) -> None:
        """Put this node's seats back (after Redis came back, or after this node was
        reaped while cut off); tell the rooms again if it had been reaped."""
        args: list[Any] = [self.node_id, self._now_ms()]
        for (instance, pid), player in self._mine.items():
            parsed = parse_instance(instance)
            if parsed is not None:
                args += (parsed[0], parsed[1], pid, self._value(player))
        async with asyncio.timeout(self.bus.timeout):
            await self.bus.client.set(
                node_key(self.node_id), self.boot, px=int(self.node_timeout * 1000)
            )
            reaped = await self.bus.client.eval(RESTORE, 0, *args)
        logger.info("directory seats restored", extra={"seats": len(self._mine)})
        if int(reaped) and self.on_restored is not None:
            await self.on_restored([(i, p) for (i, _), p in self._mine.items()])

    async def _reap(self) -> None:
        """Release the seats of every node whose heartbeat is gone."""
        async with asyncio.timeout(self.bus.timeout):
            nodes = [_text(n) for n in await self.bus.client.smembers(NODES_KEY)]
            others = [n for n in nodes if n != self.node_id]
            if not others:
                return
            pipe = self.bus.client.pipeline(transaction=False)
            for node in others:
                pipe.exists(node_key(node))
            alive = await pipe.execute()
        for node, beating in zip(others, alive, strict=True):
            if beating:
                continue
            async with asyncio.timeout(self.bus.timeout):
                seats = await self.bus.client.eval(REAP, 0, node, self._now_ms(), REAPED_TTL_MS)
            pairs = [tuple(_text(seat).split(" ", 1)) for seat in seats]
            logger.warning(
                "released the seats of a silent node",
                extra={"stale_node": node, "seats": len(pairs)},
            )
            if self.on_reaped is not None:
                await self.on_reaped(node, [(i, p) for i, p in pairs])

    # --- helpers --------------------------------------------------------------------------

    async def _reserve_locally(
        self,
        spec: RoomSpec,
        player: dict[str, Any],
        instance: str | None,
        prefer: str | None,
    ) -> str:
        seat = await self.local.reserve(spec, player, instance, prefer)
        self._mine[(seat, player["playerId"])] = player
        return seat

    async def _eval(self, script: str, *args: Any) -> list[Any]:
        async with asyncio.timeout(self.bus.timeout):
            result: list[Any] = await self.bus.client.eval(script, 0, *args)
        return result

    def _value(self, player: dict[str, Any]) -> bytes:
        return self.node_id.encode() + b"\n" + orjson.dumps(player)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _grace_ms(self) -> int:
        return int(self.close_grace * 1000)


def _suffix(spec: RoomSpec, instance: str | None) -> int:
    """The suffix of an instance of `spec` (0 for none, or an instance of another room)."""
    parsed = parse_instance(instance) if instance else None
    return parsed[1] if parsed is not None and parsed[0] == spec.id else 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
