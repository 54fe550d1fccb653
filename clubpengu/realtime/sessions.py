"""One live session per wallet across every node (docs/protocol.md §2, seed 000 §5.1), session
revocation, and pushes to a wallet wherever its live connection is.

- A `join` claims the wallet: its connection becomes the owner in the owner store
  (realtime/owners/: a dict on one node, a Redis key with many) and the previous owner
  is kicked (`kicked` + 4001) — here directly, on another node through that node's inbox
  channel (`node:<id>`). A kick that reaches a node where the player's connection has
  already dropped ends the place kept for its reconnect (`displaced` hooks).
- A revoked session is published on `session:revoke`; whichever node holds a connection
  of that session closes it with 4003.
- `push(wallet, frame)` delivers to the wallet's live connection on this node, or else
  asks the owner store to route it to the owner's node (at most once, never twice).
- A ban or a mute is published on `session:moderation`: every node closes the banned
  wallet's connections (`kicked` BANNED + 4003, signed in or joined) and ends the place
  kept for its reconnect (`banned_hooks`), or sets the muted wallet's `Connection.mute`.
- An erasure (services/erasure.py) is published there too: every node closes the wallet's
  connections with 4003, ends the place kept for its reconnect and drops the late writes
  of the wallet still batched (`erased`, realtime/erased.py).

While Redis is unreachable a join falls back to this node's view (other local
connections of the wallet are kicked) and, once Redis is back, every claim of this node
is re-asserted: the newest claim of each wallet wins and the others are kicked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from bson import ObjectId
from bson.errors import InvalidId

from clubpengu.errors import CloseCode
from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.connection import Connection, dumps
from clubpengu.realtime.erased import ErasedWallets
from clubpengu.realtime.moderation import Mute
from clubpengu.realtime.names import MODERATION_CHANNEL, REVOKE_CHANNEL, node_channel
from clubpengu.realtime.owners.base import Owner, OwnersUnavailable, SessionOwners
from clubpengu.realtime.owners.local import LocalOwners
from clubpengu.realtime.registry import ConnectionRegistry

logger = logging.getLogger(__name__)

KICKED_OTHER_SESSION = "KICKED_OTHER_SESSION"
BANNED = "BANNED"
KICK, PUSH, BAN, MUTE, ERASE = "kick", "push", "ban", "mute", "erase"
# Called with (wallet, connection id) when another node's join displaced a connection of
# this node that is no longer live (its place is kept for a reconnect).
Displaced = Callable[[str, str], Awaitable[None]]
# Called with the wallet when it is banned: the place kept for its reconnect ends.
BannedHook = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Claim:
    wallet: str
    owner: Owner
    expires_at: float  # time.time() when the token, and so the claim, ends


class SessionRegistry:
    """Local connections by wallet, this node's claims, and the session events between
    nodes. Revocations this node publishes are applied here at once and ignored when
    the bus echoes them back; other nodes apply them on receipt."""

    def __init__(
        self,
        bus: EventBus,
        node_id: str,
        owners: SessionOwners | None = None,
        connections: ConnectionRegistry | None = None,
    ) -> None:
        self.bus = bus
        self.node_id = node_id
        self.owners: SessionOwners = owners or LocalOwners()
        # Every connection of the node, so a ban also reaches those signed in but not
        # joined (they have not claimed their wallet).
        self.connections = connections
        self.boot = secrets.token_hex(4)
        self.displaced_hooks: list[Displaced] = []
        self.banned_hooks: list[BannedHook] = []
        self.erased = ErasedWallets()
        self._by_wallet: defaultdict[str, set[Connection]] = defaultdict(set)
        self._claims: dict[str, Claim] = {}  # by connection id: live or kept for a reconnect
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        listeners = [
            (node_channel(self.node_id), self._on_inbox),
            (REVOKE_CHANNEL, self._on_revoke),
            (MODERATION_CHANNEL, self._on_moderation),
        ]
        ready = [asyncio.Event() for _ in listeners]
        self._tasks = [
            asyncio.create_task(self._listen(channel, handle, event))
            for (channel, handle), event in zip(listeners, ready, strict=True)
        ]
        await asyncio.gather(*(event.wait() for event in ready))
        self.owners.watch(self.reassert)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- claiming and releasing -----------------------------------------------------------

    async def claim(self, connection: Connection, ttl: float) -> None:
        """Make `connection` its wallet's live session (for at most `ttl` seconds, the
        token's remaining life) and kick the previous one, wherever it is."""
        wallet = connection.wallet
        assert wallet is not None
        owner = Owner(self.node_id, self.boot, connection.id, int(time.time() * 1000))
        self._by_wallet[wallet].add(connection)
        self._claims[connection.id] = Claim(wallet, owner, time.time() + ttl)
        try:
            previous = await self.owners.swap(wallet, owner, ttl)
        except OwnersUnavailable:
            logger.warning("session owners unreachable; kicking this node's others only")
            await self._kick_local_others(connection)
            return
        if previous is not None and not previous.same_connection(owner):
            await self._displace(wallet, previous)

    def release(self, connection: Connection) -> None:
        """The connection has ended: it is no longer live here (its claim may stay while
        its place is kept for a reconnect; `disown` ends it)."""
        if connection.wallet is None:
            return
        live = self._by_wallet.get(connection.wallet)
        if live is not None:
            live.discard(connection)
            if not live:
                del self._by_wallet[connection.wallet]

    def disown(self, connection_id: str) -> None:
        """The connection's player has left for good: give up its claim."""
        claim = self._claims.pop(connection_id, None)
        if claim is not None:
            self.owners.release(claim.wallet, claim.owner)

    def live(self, wallet: str) -> list[Connection]:
        return list(self._by_wallet.get(wallet, ()))

    async def _displace(self, wallet: str, previous: Owner) -> None:
        if previous.node == self.node_id and previous.boot == self.boot:
            await self._kick_here(wallet, previous.connection)
            return
        event = {"t": KICK, "wallet": wallet, "owner": previous.encode()}
        await self.bus.publish(node_channel(previous.node), orjson.dumps(event))

    async def _kick_here(self, wallet: str, connection_id: str, *, remote: bool = False) -> None:
        """Kick this node's connection `connection_id` of `wallet` (4001). A kick from
        another node also ends the place kept for that connection's reconnect, if any."""
        self._claims.pop(connection_id, None)
        for connection in self.live(wallet):
            if connection.id == connection_id:
                await self._kick(connection)
        if remote:
            for hook in self.displaced_hooks:
                await hook(wallet, connection_id)

    async def _kick_local_others(self, keep: Connection) -> None:
        assert keep.wallet is not None
        for connection in self.live(keep.wallet):
            if connection is not keep:
                self._claims.pop(connection.id, None)
                await self._kick(connection)

    async def _kick(self, connection: Connection) -> None:
        self.release(connection)
        connection.send({"type": "kicked", "reason": KICKED_OTHER_SESSION})
        await connection.close(CloseCode.CLOSE_4001_REPLACED, "replaced by a newer session")

    async def reassert(self) -> None:
        """After an outage of the shared store: claim again every wallet this node holds;
        where a newer session took the wallet meanwhile, ours is kicked, and where ours is
        the newer one, the older one is."""
        now = time.time()
        claims = [
            (claim.wallet, claim.owner, claim.expires_at - now)
            for claim in self._claims.values()
            if claim.expires_at > now
        ]
        for result in await self.owners.reconcile(claims):
            if not result.kept:
                await self._kick_here(result.wallet, result.owner.connection, remote=True)
            elif result.displaced and not result.displaced.same_connection(result.owner):
                await self._displace(result.wallet, result.displaced)
        logger.info("session owners re-asserted", extra={"claims": len(claims)})

    # --- pushes and revocation ------------------------------------------------------------

    def push(self, wallet: str, frame: dict[str, Any]) -> None:
        """Deliver `frame` to the wallet's live connection: here, or on its owner's node."""
        text = dumps(frame)
        live = self._by_wallet.get(wallet)
        if live:
            for connection in live:
                connection.send_text(text)
        elif self.owners.remote:
            self.owners.route(wallet, orjson.dumps({"t": PUSH, "wallet": wallet, "frame": text}))

    def push_here(self, wallet: str, frame: dict[str, Any]) -> bool:
        """Deliver `frame` to the wallet's live connection on this node only (every node
        is asked the same, so routing it too would tell the player twice); False when
        there is none here."""
        live = self._by_wallet.get(wallet)
        if not live:
            return False
        text = dumps(frame)
        for connection in live:
            connection.send_text(text)
        return True

    async def revoke(self, session_id: str, keep: str | None = None) -> None:
        """Close every connection of the session (but `keep`) with 4003, on every node."""
        event = {"sid": session_id, "keep": keep, "node": self.node_id}
        await self._close_session(event)
        await self.bus.publish(REVOKE_CHANNEL, orjson.dumps(event))

    async def _listen(
        self,
        channel: str,
        handle: Callable[[dict[str, Any]], Awaitable[None]],
        ready: asyncio.Event,
    ) -> None:
        async with self.bus.subscribe(channel) as messages:
            ready.set()
            async for raw in messages:
                try:
                    await handle(orjson.loads(raw))
                except Exception:
                    logger.exception("session event failed", extra={"channel": channel})

    async def _on_inbox(self, event: dict[str, Any]) -> None:
        if event["t"] == PUSH:
            for connection in self.live(event["wallet"]):
                connection.send_text(event["frame"])
        elif event["t"] == KICK:
            owner = Owner.decode(event["owner"])
            # A kick for an earlier run of this node has nothing left to kick.
            if owner is not None and owner.boot == self.boot:
                await self._kick_here(event["wallet"], owner.connection, remote=True)

    async def _on_revoke(self, event: dict[str, Any]) -> None:
        if event.get("node") != self.node_id:  # this node's own were applied at once
            await self._close_session(event)

    async def _close_session(self, event: dict[str, Any]) -> None:
        for connections in list(self._by_wallet.values()):
            for connection in list(connections):
                if connection.session_id == event["sid"] and connection.id != event["keep"]:
                    await connection.close(CloseCode.CLOSE_4003_SESSION_ENDED, "session revoked")

    # --- moderation -----------------------------------------------------------------------

    async def ban(self, wallet: str) -> None:
        """Close every connection of `wallet` with `kicked` BANNED and 4003, and end the
        place kept for its reconnect, on every node (its sessions are already revoked)."""
        event = {"t": BAN, "wallet": wallet, "node": self.node_id}
        await self._moderate(event)
        await self.bus.publish(MODERATION_CHANNEL, orjson.dumps(event))

    async def mute(self, wallet: str, mute: Mute | None) -> None:
        """Set (None: lift) the mute of every connection of `wallet`, on every node."""
        # JSON has no infinity: a mute until lifted travels as `ends: null`.
        ends = None if mute is None or math.isinf(mute.ends) else mute.ends
        event = {
            "t": MUTE, "wallet": wallet, "node": self.node_id, "muted": mute is not None,
            "ends": ends, "until": mute.until if mute is not None else None,
        }  # fmt: skip
        await self._moderate(event)
        await self.bus.publish(MODERATION_CHANNEL, orjson.dumps(event))

    async def erase(self, wallet: str) -> None:
        """The wallet's data is being erased: on every node, its connections closed with
        4003, the place kept for its reconnect ended and its batched writes dropped."""
        event = {"t": ERASE, "wallet": wallet, "node": self.node_id}
        await self._moderate(event)
        await self.bus.publish(MODERATION_CHANNEL, orjson.dumps(event))

    async def erase_here(self, wallet: str, started: datetime) -> int:
        """`erase`, on this node only, for the connections signed in before `started` (a
        session opened after it is a new player's, the erasure being over): what a node
        does when it finds an erasure by itself (the erasure sweep). The number closed."""
        closed, newer = 0, False
        for connection in self._of_wallet(wallet):
            opened = _session_time(connection.session_id)
            if opened is None or opened <= started:
                await self._close_erased(connection)
                closed += 1
            else:
                newer = True
        if not newer:  # else the wallet is back, a new player: its writes are its own
            self.erased.add(wallet)
        for hook in self.banned_hooks:
            await hook(wallet)
        return closed

    def wallets(self) -> set[str]:
        """The wallets signed in on this node."""
        if self.connections is None:
            return set(self._by_wallet)
        return {c.wallet for c in self.connections if c.wallet is not None}

    async def _close_erased(self, connection: Connection) -> None:
        self.release(connection)
        await connection.close(CloseCode.CLOSE_4003_SESSION_ENDED, "erased")

    def _of_wallet(self, wallet: str) -> list[Connection]:
        if self.connections is None:
            return self.live(wallet)
        return [connection for connection in self.connections if connection.wallet == wallet]

    async def _on_moderation(self, event: dict[str, Any]) -> None:
        if event.get("node") != self.node_id:  # this node's own were applied at once
            await self._moderate(event)

    async def _moderate(self, event: dict[str, Any]) -> None:
        wallet = event["wallet"]
        if event["t"] == MUTE:
            mute = None
            if event["muted"]:
                ends = event["ends"] if event["ends"] is not None else math.inf
                mute = Mute(ends, event["until"])
            for connection in self._of_wallet(wallet):
                connection.mute = mute
        elif event["t"] == ERASE:
            self.erased.add(wallet)
            for connection in self._of_wallet(wallet):
                await self._close_erased(connection)
            for hook in self.banned_hooks:
                await hook(wallet)
        elif event["t"] == BAN:
            for connection in self._of_wallet(wallet):
                self.release(connection)
                connection.send({"type": "kicked", "reason": BANNED})
                await connection.close(CloseCode.CLOSE_4003_SESSION_ENDED, "banned")
            for hook in self.banned_hooks:
                await hook(wallet)


def _session_time(session_id: str | None) -> datetime | None:
    """When the session was opened: its id is an ObjectId, which holds the second."""
    try:
        return ObjectId(session_id).generation_time if session_id else None
    except InvalidId:
        return None
