"""The connection history: one ConnectionLog per WebSocket, written when it opens and
updated when it signs in, joins and closes, in the background (a socket never waits for
the database).

A log, not state (docs/durability.md): the writes do not wait for the journal, and the
writes of many connections go in one command (services/group_writer.py): the writes a
group holds for one connection are merged first (an open, its sign-in and its join that
queued together become one insert), then the group is one `bulk_write` (the inserts in
one command, the updates in another), so a storm of 1,000 sign-ins costs a few commands,
not 1,000. Updates that set the same fields on several entries are one statement for all of
them: at shutdown (`begin_stop`) every close is stamped with the same time, so a thousand
sockets closed with 1001 after the same rooms are one statement, not a thousand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import InsertOne, UpdateMany, UpdateOne

from clubpengu.db import without_journal_wait
from clubpengu.models import ConnectionLog
from clubpengu.models.base import utcnow
from clubpengu.services.group_writer import GroupWriter
from clubpengu.services.keyed_hash import KeyedHash

logger = logging.getLogger(__name__)
FLUSH_TIMEOUT = 5.0
USER_AGENT_CHARS = 48  # enough to tell a browser from a bot; not a fingerprint
MAX_DEVICE_ID = 128
# Where the transport keeps, on the Connection, its entry's id and the device id it was sent.
LOG_ID = "connection_log_id"
DEVICE_ID = "client_device_id"
CLOSED_BY_RESTART = "restart"  # `closedBy` of an entry closed by its node's next start


@dataclass
class _Write:
    """A write for one connection's entry: the whole document (`insert`) or fields to set."""

    log_id: ObjectId
    insert: dict[str, Any] | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Opened:
    """What the transport knows about a connection when it opens."""

    connection_id: str
    connected_at: datetime
    ip_hash: str | None = None
    user_agent: str | None = None


class ConnectionLogService:
    def __init__(
        self,
        node_id: str,
        ttl_seconds: float,
        secret: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.node_id = node_id
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock
        self._devices = KeyedHash(secret, "device-hash")
        self._agents = KeyedHash(secret, "user-agent-hash")
        self._writer: GroupWriter[_Write] = GroupWriter(_write, name="connection-log")
        self._stopping_at: datetime | None = None  # the time of every close at shutdown
        self._held: list[_Write] = []  # the closes at shutdown, written by `flush`

    def begin_stop(self) -> None:
        """The node is stopping: the sockets closed from now on are stamped closed at this
        one time, so that their closes are written together (`merged`), and held until
        the node's stop calls `flush`, after the final stats flush they would compete
        with."""
        if self._stopping_at is None:
            self._stopping_at = self.clock()

    def hash_device(self, device_id: str) -> str:
        return self._devices.hex(device_id)

    def opened(self, opened: Opened) -> ObjectId:
        """Schedule the entry of a new connection; its id, for the later updates."""
        log_id = ObjectId()
        agent = opened.user_agent
        document = ConnectionLog(
            node_id=self.node_id,
            connection_id=opened.connection_id,
            connected_at=opened.connected_at,
            ip_hash=opened.ip_hash,
            user_agent=agent[:USER_AGENT_CHARS] if agent else None,
            user_agent_hash=self._agents.hex(agent) if agent else None,
            expires_at=opened.connected_at + self.ttl,
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})
        document["_id"] = log_id
        # A failed write is logged by the writer; a lost log line takes nothing else down.
        self._writer.submit_nowait(_Write(log_id, insert=document))
        return log_id

    def signed_in(self, log_id: ObjectId, wallet: str, device_id: str | None) -> None:
        fields: dict[str, Any] = {"walletAddress": wallet, "signedInAt": self.clock()}
        if device_id:
            fields["deviceHash"] = self.hash_device(device_id)
        self._writer.submit_nowait(_Write(log_id, fields=fields))

    def joined(
        self,
        log_id: ObjectId,
        wallet: str | None,
        client_version: str | None,
        device_id: str | None,
        rooms: list[str],
    ) -> None:
        fields: dict[str, Any] = {
            "joinedAt": self.clock(),
            "guest": wallet is None,
            "clientVersion": client_version,
            "roomsVisited": list(rooms),
        }
        if wallet is not None:
            fields["walletAddress"] = wallet
        if device_id:
            fields["deviceHash"] = self.hash_device(device_id)
        self._writer.submit_nowait(_Write(log_id, fields=fields))

    def closed(self, log_id: ObjectId, close_code: int | None, rooms: list[str]) -> None:
        now = self._stopping_at or self.clock()
        fields = {
            "disconnectedAt": now,
            "closeCode": close_code,
            "roomsVisited": list(rooms),
            "expiresAt": now + self.ttl,
        }
        if self._stopping_at is not None:
            self._held.append(_Write(log_id, fields=fields))
            return
        self._writer.submit_nowait(_Write(log_id, fields=fields))

    async def close_left_open(self) -> int:
        """At start: mark closed the entries this node id left open when it last stopped
        without closing them (killed, or the machine lost), `closedBy: "restart"` and the
        restart's time as an upper bound of the close; the number marked. One command."""
        now = self.clock()
        result = await ConnectionLog.get_pymongo_collection().update_many(
            {"nodeId": self.node_id, "disconnectedAt": None},
            {"$set": {"disconnectedAt": now, "closedBy": CLOSED_BY_RESTART,
                      "expiresAt": now + self.ttl}},
        )  # fmt: skip
        if result.modified_count:
            logger.warning(
                "closed the connection history a stopped node left open",
                extra={"entries": result.modified_count},
            )
        return result.modified_count

    async def flush(self) -> None:
        """Write what is held (the closes at shutdown) and wait (at most FLUSH_TIMEOUT)
        for the writes in flight; used on shutdown."""
        held, self._held = self._held, []
        for write in held:
            self._writer.submit_nowait(write)
        await self._writer.flush(FLUSH_TIMEOUT)

    @property
    def pending(self) -> int:
        return self._writer.pending

    @property
    def commands(self) -> int:
        """Groups written so far (each one `bulk_write`), for the benchmarks."""
        return self._writer.writes


Operation = InsertOne[dict[str, Any]] | UpdateOne | UpdateMany


def merged(writes: list[_Write]) -> list[Operation]:
    """One operation per connection: its fields folded into its insert when the insert is
    in this group, else one `$set` of all of them (later values win); the `$set`s that are
    the same for several connections are one update of all of them."""
    by_id: dict[ObjectId, _Write] = {}
    for write in writes:
        known = by_id.get(write.log_id)
        if known is None:
            by_id[write.log_id] = known = _Write(write.log_id)
        if write.insert is not None:
            known.insert = dict(write.insert)
        known.fields.update(write.fields)
    operations: list[Operation] = []
    alike: dict[str, tuple[dict[str, Any], list[ObjectId]]] = {}
    for log_id, write in by_id.items():
        if write.insert is not None:
            operations.append(InsertOne(write.insert | write.fields))
        elif write.fields:
            key = repr(sorted(write.fields.items()))
            alike.setdefault(key, (write.fields, []))[1].append(log_id)
    for fields, ids in alike.values():
        if len(ids) == 1:
            operations.append(UpdateOne({"_id": ids[0]}, {"$set": fields}))
        else:
            operations.append(UpdateMany({"_id": {"$in": ids}}, {"$set": fields}))
    return operations


async def _write(writes: list[_Write]) -> None:
    collection = without_journal_wait(ConnectionLog.get_pymongo_collection())
    # Unordered: the inserts go first, then the updates (none of which is for an insert of
    # this group: those were merged), so the order within the group does not matter.
    await collection.bulk_write(merged(writes), ordered=False)
