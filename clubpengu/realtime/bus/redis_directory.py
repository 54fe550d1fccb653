"""Room instances and their members across nodes, in Redis (REDIS_URL): the shared
RoomDirectory (realtime/instances.py).

Keys (bus/names.py):
- `rooms:<room>`: hash of the room's open instances, suffix -> the time (ms) it became
  empty, 0 while someone sits in it. The first instance (`1`) is always there.
- `room:<instance>`: hash of the instance's seats, player id -> `<node>\\n<player JSON>`;
  its length is the population. `pos:<instance>`: player id -> `x y`, the last position
  of each member, written once a tick per room by the node that has movers.
- `seats:<node>`: set of `<instance> <player id>` a node holds; `nodes`: the nodes that
  hold seats; `node:<node>`: the node's heartbeat (a TTL of NODE_TIMEOUT, refreshed every
  third of it); `reaped:<node>`: set when another node released a silent node's seats.

A reservation is one Lua script: it closes instances empty for longer than the grace,
picks the instance (the one asked for, the preferred one, the fullest with a seat, or a
new one with the smallest free suffix) and takes the seat, atomically: two nodes never
overfill an instance and always agree on which instances exist. A release is awaited (one
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

from clubpengu.realtime.bus.names import NODES_KEY, node_key, positions_key, room_members_key
from clubpengu.realtime.bus.redis import RedisBus
from clubpengu.realtime.instances import (
    MAX_SUFFIX,
    InstanceListing,
    LocalDirectory,
    RoomListing,
    closed_error,
    full_error,
    instance_id,
    parse_instance,
)
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec

logger = logging.getLogger(__name__)
REAPED_TTL_MS = 3_600_000

# Shared by the scripts: the open instances of room ARGV[1], closing those empty past the
# grace. Leaves `open_` (suffix -> population) and `rkey`.
_OPEN = """
local room, now, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local rkey = 'rooms:' .. room
local function iid(s) if s == 1 then return room end return room .. '~' .. s end
redis.call('HSETNX', rkey, '1', now)
local open_ = {}
local flat = redis.call('HGETALL', rkey)
for i = 1, #flat, 2 do
  local s, since = tonumber(flat[i]), tonumber(flat[i + 1])
  local pop = redis.call('HLEN', 'room:' .. iid(s))
  if s ~= 1 and pop == 0 and since > 0 and now - since >= grace then
    redis.call('HDEL', rkey, flat[i])
    redis.call('DEL', 'pos:' .. iid(s))
  else
    open_[s] = pop
  end
end
"""

# ARGV: room, now, grace, capacity, player id, node, value, wanted suffix (0: none),
# preferred suffix (0: none), max suffix. Returns {1, instance} or {0, 'full'|'closed'}.
RESERVE = (
    _OPEN
    + """
local cap, pid, node, value = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local want, prefer, maxs = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local chosen
if want > 0 then
  if open_[want] == nil then return {0, 'closed'} end
  if open_[want] >= cap and redis.call('HEXISTS', 'room:' .. iid(want), pid) == 0 then
    return {0, 'full'}
  end
  chosen = want
else
  if prefer > 0 and open_[prefer] ~= nil and open_[prefer] < cap then chosen = prefer end
  if not chosen then
    local best, most = nil, -1
    for s, pop in pairs(open_) do
      if pop < cap and (pop > most or (pop == most and s < best)) then best, most = s, pop end
    end
    chosen = best
  end
  if not chosen then
    for s = 2, maxs do if open_[s] == nil then chosen = s break end end
    if not chosen then return {0, 'full'} end
  end
end
local id = iid(chosen)
redis.call('HSET', 'room:' .. id, pid, value)
redis.call('HSET', rkey, tostring(chosen), 0)
redis.call('SADD', 'seats:' .. node, id .. ' ' .. pid)
redis.call('SADD', 'nodes', node)
return {1, id}
"""
)

# ARGV: room, suffix, instance, player id, node, now.
RELEASE = """
local mkey = 'room:' .. ARGV[3]
if redis.call('HDEL', mkey, ARGV[4]) == 1 then
  redis.call('HDEL', 'pos:' .. ARGV[3], ARGV[4])
  if redis.call('HLEN', mkey) == 0 and redis.call('HEXISTS', 'rooms:' .. ARGV[1], ARGV[2]) == 1 then
    redis.call('HSET', 'rooms:' .. ARGV[1], ARGV[2], ARGV[6])
  end
end
redis.call('SREM', 'seats:' .. ARGV[5], ARGV[3] .. ' ' .. ARGV[4])
return 1
"""

# ARGV: room, now, grace. Returns {suffix, population, ...} of the open instances.
LIST = (
    _OPEN
    + """
local out = {}
for s, pop in pairs(open_) do out[#out + 1] = s; out[#out + 1] = pop end
return out
"""
)

# KEYS[1]: room:<instance>. ARGV: player id, value. Only a seat still held is updated.
UPDATE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
"""

# ARGV: node, now. A node whose heartbeat is gone: take its seats away (once: whoever runs
# this first gets them), mark the instances it emptied, remember it was reaped.
REAP = """
local node, now = ARGV[1], ARGV[2]
if redis.call('EXISTS', 'node:' .. node) == 1 then return {} end
local seats = redis.call('SMEMBERS', 'seats:' .. node)
for _, seat in ipairs(seats) do
  local inst, pid = string.match(seat, '^(%S+) (%S+)$')
  local mkey = 'room:' .. inst
  redis.call('HDEL', mkey, pid)
  redis.call('HDEL', 'pos:' .. inst, pid)
  if redis.call('HLEN', mkey) == 0 then
    local room, sfx = string.match(inst, '^([^~]+)~(%d+)$')
    if not room then room, sfx = inst, '1' end
    if redis.call('HEXISTS', 'rooms:' .. room, sfx) == 1 then
      redis.call('HSET', 'rooms:' .. room, sfx, now)
    end
  end
end
redis.call('DEL', 'seats:' .. node)
redis.call('SREM', 'nodes', node)
redis.call('SET', 'reaped:' .. node, 1, 'PX', ARGV[3])
return seats
"""

# ARGV: node, now, then quadruples of room, suffix, player id, value. Makes the node's
# seats exactly these (seats released while Redis was unreachable go; the others come
# back whatever the capacity: they are players already in the room). Returns 1 if the
# node had been reaped.
RESTORE = """
local node, now = ARGV[1], ARGV[2]
local keep = {}
for i = 3, #ARGV, 4 do
  local inst = ARGV[i]
  if ARGV[i + 1] ~= '1' then inst = inst .. '~' .. ARGV[i + 1] end
  keep[inst .. ' ' .. ARGV[i + 2]] = true
end
for _, seat in ipairs(redis.call('SMEMBERS', 'seats:' .. node)) do
  if not keep[seat] then
    local inst, pid = string.match(seat, '^(%S+) (%S+)$')
    redis.call('HDEL', 'room:' .. inst, pid)
    redis.call('HDEL', 'pos:' .. inst, pid)
    redis.call('SREM', 'seats:' .. node, seat)
  end
end
for i = 3, #ARGV, 4 do
  local room, sfx, pid, value = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local inst = room
  if sfx ~= '1' then inst = room .. '~' .. sfx end
  redis.call('HSET', 'room:' .. inst, pid, value)
  redis.call('HSET', 'rooms:' .. room, sfx, 0)
  redis.call('SADD', 'seats:' .. node, inst .. ' ' .. pid)
end
redis.call('SADD', 'nodes', node)
return redis.call('DEL', 'reaped:' .. node)
"""

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
        self._task: asyncio.Task[None] | None = None
        bus.on_reconnect.append(self.restore)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            await self._beat()
        self._task = asyncio.create_task(self._watch(), name="directory-heartbeat")

    async def stop(self) -> None:
        """Stop the heartbeat and leave the directory (the seats were released as the
        node's players left)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
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

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.node_timeout / 3)
            if not self.bus.up:
                continue
            try:
                await self._beat()
                await self._reap()
            except Exception:
                logger.exception("directory heartbeat failed")

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
