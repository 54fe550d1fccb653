"""Buddies' presence: who of a player's buddies is told that the player came online,
changed rooms or left, on every node, and the ignore list each connection filters by.

The cost is per event, never per tick or per buddy: when a player joins, their buddy
list is read once (only for a wallet marked `social`) and kept in memory on the node that
holds them, with the reverse (`watchers`: for each wallet, this node's online players who
have it as a buddy). A join, room change or leave of a player with buddies publishes ONE
message on the `buddies` channel; each node looks the player up in its `watchers` and
tells those of its players (with one node the bus is in memory and the same code runs).
Friendships are symmetric, so a node's watchers of a wallet are exactly that wallet's
online buddies on it. New and ended friendships travel on the same channel, so every
node's lists stay current without reading them again.

A wallet's newest session wins across nodes, so a leave can be published after the join
that replaced it elsewhere. Each event carries its session's player id; a node that has
seen a newer `online` of the wallet drops the older session's `offline`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.names import BUDDIES_CHANNEL
from clubpengu.services.notices import BuddyEvent, BuddyStatus, Notice

logger = logging.getLogger(__name__)
ONLINE, MOVED, OFFLINE, LINK, UNLINK = "on", "mv", "off", "link", "unlink"
_EVENTS: dict[str, BuddyEvent] = {
    ONLINE: "buddy_online", MOVED: "buddy_moved", OFFLINE: "buddy_offline",
}  # fmt: skip


@dataclass(frozen=True)
class SocialLists:
    """What a joining player's node keeps: their buddies and whom they ignore."""

    buddies: frozenset[str]
    ignored: frozenset[str]


# Reads a wallet's lists and hands it its pending buddy requests (services/buddies.py).
LoadLists = Callable[[str], Awaitable[SocialLists]]
Deliver = Callable[[str, Notice], None]


class BuddyPresence:
    def __init__(self, bus: EventBus, node_id: str, deliver: Deliver, load: LoadLists) -> None:
        self.bus = bus
        self.node_id = node_id
        self.deliver = deliver
        self.load = load
        self._lists: dict[str, set[str]] = {}  # this node's online players: their buddies
        self._watchers: defaultdict[str, set[str]] = defaultdict(set)
        self._sessions: dict[str, str] = {}  # a watched wallet: its latest online session
        self._connections: dict[str, Connection] = {}  # this node's online players
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(ready), name="buddy-presence")
        await ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # --- a player of this node ------------------------------------------------------------

    async def online(
        self, connection: Connection, wallet: str, session: str, room: str, social: bool
    ) -> None:
        """The player joined (or came back): keep their lists here, filter by their
        ignore list, and tell their buddies. A wallet never marked `social` has no lists:
        nothing is read or published."""
        previous = self._connections.get(wallet)
        self._connections[wallet] = connection
        if previous is not None and wallet in self._lists:
            # Back within the reconnect grace, or handed over on this node: the buddies
            # never saw a leave, and the lists are here already.
            connection.ignored = previous.ignored
            return
        self._lists[wallet] = set()  # friendships made while the lists load land here
        if not social:
            return
        lists = await self.load(wallet)
        connection.ignored = lists.ignored
        if self._connections.get(wallet) is not connection:
            return  # replaced while loading
        for buddy in lists.buddies:
            self._link_local(wallet, buddy)
        await self._publish(ONLINE, wallet, session, room)

    async def moved(self, wallet: str, session: str, room: str) -> None:
        await self._publish(MOVED, wallet, session, room)

    async def offline(
        self, wallet: str, session: str, connection: Connection | None, *, replaced: bool = False
    ) -> None:
        """The player left for good (not a drop still within its reconnect grace), or
        (`replaced`) a newer session of the wallet took over, perhaps on another node:
        then this node lets the lists go and the buddies are told nothing."""
        if connection is not None and self._connections.get(wallet) not in (None, connection):
            return  # a newer connection of the wallet on this node holds the lists now
        buddies = self._lists.pop(wallet, set())
        self._connections.pop(wallet, None)
        for buddy in buddies:
            self._unwatch(buddy, wallet)
        if buddies and not replaced:
            await self._publish(OFFLINE, wallet, session)

    def ignoring(self, wallet: str, ignored: frozenset[str]) -> None:
        """The player's ignore list changed (on this node: they changed it here)."""
        connection = self._connections.get(wallet)
        if connection is not None:
            connection.ignored = ignored

    def lists_of(self, wallet: str) -> frozenset[str] | None:
        """The buddies kept for an online player of this node (None: not here)."""
        buddies = self._lists.get(wallet)
        return frozenset(buddies) if buddies is not None else None

    # --- friendships ----------------------------------------------------------------------

    async def linked(self, one: str, other: str) -> None:
        await self._send({"t": LINK, "a": one, "b": other})

    async def unlinked(self, one: str, other: str) -> None:
        await self._send({"t": UNLINK, "a": one, "b": other})

    # --- the channel ----------------------------------------------------------------------

    async def _publish(self, kind: str, wallet: str, session: str, room: str | None = None) -> None:
        if not self._lists.get(wallet) and kind != OFFLINE:
            return  # nobody to tell on any node: no buddies
        await self._send({"t": kind, "w": wallet, "s": session, "r": room})

    async def _send(self, event: dict[str, Any]) -> None:
        await self.bus.publish(BUDDIES_CHANNEL, orjson.dumps(event))

    async def _listen(self, ready: asyncio.Event) -> None:
        async with self.bus.subscribe(BUDDIES_CHANNEL) as messages:
            ready.set()
            async for raw in messages:
                try:
                    self.apply(orjson.loads(raw))
                except Exception:
                    logger.exception("buddy event failed")

    def apply(self, event: dict[str, Any]) -> None:
        """One event of any node (this one's included)."""
        kind = event["t"]
        if kind == LINK:
            self._link_local(event["a"], event["b"])
            self._link_local(event["b"], event["a"])
        elif kind == UNLINK:
            self._unlink_local(event["a"], event["b"])
            self._unlink_local(event["b"], event["a"])
        else:
            self._status(kind, event["w"], event["s"], event.get("r"))

    def _status(self, kind: str, wallet: str, session: str, room: str | None) -> None:
        watchers = self._watchers.get(wallet)
        if not watchers:
            return
        if kind == OFFLINE:
            latest = self._sessions.get(wallet)
            if latest is not None and latest != session:
                return  # an older session's leave, after the newer one's join
            self._sessions.pop(wallet, None)
        else:
            self._sessions[wallet] = session
        status = BuddyStatus(_EVENTS[kind], wallet, room)
        for watcher in list(watchers):
            self.deliver(watcher, status)

    def _link_local(self, wallet: str, buddy: str) -> None:
        """`wallet`, if online here, has `buddy` as a buddy."""
        buddies = self._lists.get(wallet)
        if buddies is not None:
            buddies.add(buddy)
            self._watchers[buddy].add(wallet)

    def _unlink_local(self, wallet: str, buddy: str) -> None:
        buddies = self._lists.get(wallet)
        if buddies is not None:
            buddies.discard(buddy)
            self._unwatch(buddy, wallet)

    def _unwatch(self, wallet: str, watcher: str) -> None:
        watchers = self._watchers.get(wallet)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[wallet]
                self._sessions.pop(wallet, None)
