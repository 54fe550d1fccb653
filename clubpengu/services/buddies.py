"""Buddies and ignore lists: requests, friendships, whom a player ignores, and where a
buddy is (docs/buddies.md).

- A friendship is one document per pair in its stored order (models/friendship.py), so
  two accepts at once, one each way, make one friendship: the second insert meets the
  unique index and is taken as done.
- A request waits for its answer, for at most BUDDY_REQUEST_TTL (a TTL index); one that
  arrives while the target is offline is handed over when they next join.
- Ignoring someone ends the friendship and any request between the two; the ignored
  player's requests (and challenges, services/challenges.py) are then answered exactly as
  if the ignorer were offline (no information that one is ignored leaks): a request is
  stored as to anyone else, `hidden`, and never shown.
- Bad input changes nothing: a request to oneself, a second request, a request to a
  buddy, a full list are each a clear error before any write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from clubpengu.config_parsers import Rate
from clubpengu.db import Collection
from clubpengu.errors import (
    BuddyLimit,
    Conflict,
    IgnoreLimit,
    InvalidMessage,
    NotFound,
    RateLimited,
)
from clubpengu.models import BuddyRequest, Friendship, Ignore, User
from clubpengu.models.base import utcnow
from clubpengu.models.friendship import pair
from clubpengu.services.buddy_presence import BuddyPresence, SocialLists
from clubpengu.services.notices import (
    Buddy,
    BuddyAdded,
    BuddyRemoved,
    BuddyRequested,
    BuddyWithdrawn,
    Notify,
)
from clubpengu.services.ratelimit import RateLimiter

logger = logging.getLogger(__name__)
# Called with (accepter, requester) when they become buddies.
Befriended = Callable[[str, str], Awaitable[None]]
_USER_FIELDS = {"walletAddress": 1, "username": 1, "isConnected": 1, "lastInstance": 1, "_id": 0}


@dataclass(frozen=True)
class BuddyRules:
    limit: int = 100  # BUDDY_LIMIT
    ignore_limit: int = 100  # IGNORE_LIMIT
    request_ttl: timedelta = timedelta(days=14)  # BUDDY_REQUEST_TTL
    request_rate: Rate = field(default_factory=lambda: Rate(10, 60.0))  # per wallet


@dataclass(frozen=True)
class RequestOutcome:
    """A request sent (`added` None), or one that met the target's own request to the
    sender and so made them buddies at once (`added`: the target)."""

    target: str
    added: Buddy | None = None


@dataclass(frozen=True)
class BuddyList:
    """A player's buddies (online state and room), the requests waiting for their answer
    and those they sent that wait for an answer (each newest first), and the wallets they
    ignore."""

    buddies: list[Buddy]
    requests: list[Buddy]
    ignored: list[Buddy]
    sent: list[Buddy]


@dataclass(frozen=True)
class StaffView:
    """What staff see of a player's lists: all of them, both ways."""

    buddies: list[Buddy]
    requests_received: list[tuple[Buddy, bool]]  # (sender, hidden)
    requests_sent: list[Buddy]
    ignored: list[Buddy]
    ignored_by: int


@dataclass(frozen=True)
class Forgotten:
    """What erasing a wallet removed from the buddies' collections."""

    friendships: int
    requests: int
    ignores: int


def _buddy(doc: dict[str, Any]) -> Buddy:
    online = bool(doc.get("isConnected"))
    room = doc.get("lastInstance") if online else None
    return Buddy(doc["walletAddress"], doc.get("username", ""), online, room)


def _of(wallet: str) -> dict[str, Any]:
    return {"$or": [{"low": wallet}, {"high": wallet}]}


def _between(one: str, other: str) -> dict[str, Any]:
    return {
        "$or": [
            {"fromWallet": one, "toWallet": other},
            {"fromWallet": other, "toWallet": one},
        ]
    }


class BuddyService:
    def __init__(
        self,
        notify: Notify,
        rules: BuddyRules,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.notify = notify
        self.rules = rules
        self.clock = clock
        self.rate = RateLimiter(rules.request_rate.count, rules.request_rate.seconds)
        # Set by the node once built (it needs `load`): tells every node's lists.
        self.presence: BuddyPresence | None = None
        # Called once per new friendship (not for the second of two racing accepts), with
        # both wallets: what follows a first buddy (a stamp) hangs here.
        self.befriended: list[Befriended] = []

    # --- collections ----------------------------------------------------------------------

    @staticmethod
    def _friendships() -> Collection:
        return Friendship.get_pymongo_collection()

    @staticmethod
    def _requests() -> Collection:
        return BuddyRequest.get_pymongo_collection()

    @staticmethod
    def _ignores() -> Collection:
        return Ignore.get_pymongo_collection()

    @staticmethod
    def _users() -> Collection:
        return User.get_pymongo_collection()

    async def _people(self, wallets: Iterable[str]) -> dict[str, Buddy]:
        wanted = list(dict.fromkeys(wallets))
        if not wanted:
            return {}
        found = self._users().find({"walletAddress": {"$in": wanted}}, _USER_FIELDS)
        return {doc["walletAddress"]: _buddy(doc) async for doc in found}

    async def _person(self, wallet: str) -> Buddy:
        """The player of `wallet`. Raises NotFound."""
        doc = await self._users().find_one({"walletAddress": wallet}, _USER_FIELDS)
        if doc is None:
            raise NotFound("No such player")
        return _buddy(doc)

    async def _buddies_of(self, wallet: str) -> list[str]:
        found = self._friendships().find(_of(wallet), {"low": 1, "high": 1, "_id": 0})
        return [doc["high"] if doc["low"] == wallet else doc["low"] async for doc in found]

    async def _count_buddies(self, wallet: str) -> int:
        return await self._friendships().count_documents(_of(wallet))

    async def count(self, wallet: str) -> int:
        """How many buddies `wallet` has (at most BUDDY_LIMIT: a count of that many)."""
        return await self._count_buddies(wallet)

    async def _mark_social(self, *wallets: str) -> None:
        # Before the write that gives them a list: a join must never skip a list it has.
        await self._users().update_many(
            {"walletAddress": {"$in": list(wallets)}, "social": {"$ne": True}},
            {"$set": {"social": True}},
        )

    async def ignores(self, owner: str, wallet: str) -> bool:
        """Whether `owner` ignores `wallet`."""
        return await self._ignores().find_one({"owner": owner, "wallet": wallet}) is not None

    # --- requests -------------------------------------------------------------------------

    async def request(self, sender: str, target: str) -> RequestOutcome:
        """Ask `target` to be buddies (they are told now if online, else when they next
        join). When they had already asked the sender, they are buddies at once. Raises
        InvalidMessage (oneself), RateLimited, NotFound (no such player), Conflict
        (already buddies, already asked, ignoring them), BuddyLimit (the sender's list)."""
        if sender == target:
            raise InvalidMessage("walletAddress: you cannot add yourself")
        if not self.rate.allow(sender):
            raise RateLimited("Too many buddy requests; wait a little")
        await self._person(target)
        low, high = pair(sender, target)
        if await self._friendships().find_one({"low": low, "high": high}):
            raise Conflict("You are already buddies")
        if await self.ignores(sender, target):
            raise Conflict("You are ignoring this player; unignore them first")
        theirs = {"fromWallet": target, "toWallet": sender, "hidden": False}
        if await self._requests().find_one(theirs):
            return RequestOutcome(target, await self.accept(sender, target))
        if await self._count_buddies(sender) >= self.rules.limit:
            raise BuddyLimit()
        # Checked last, after every refusal the sender could see: from here on the answer
        # is the same whether the target ignores the sender or not.
        hidden = await self.ignores(target, sender)
        now = self.clock()
        request = {
            "fromWallet": sender, "toWallet": target, "hidden": hidden, "createdAt": now,
            "expiresAt": now + self.rules.request_ttl,
        }  # fmt: skip
        if not hidden:
            await self._mark_social(target)
        try:
            await self._requests().insert_one(request)
        except DuplicateKeyError:
            raise Conflict("You already asked this player; wait for their answer") from None
        if not hidden:
            self.notify(target, BuddyRequested(await self._person(sender)))
        return RequestOutcome(target)

    async def accept(self, wallet: str, requester: str) -> Buddy:
        """Accept `requester`'s request: they are buddies, the requester is told
        (`buddy_added`). Raises NotFound (no such request), BuddyLimit (either list)."""
        mine = {"fromWallet": requester, "toWallet": wallet, "hidden": False}
        if await self._requests().find_one(mine) is None:
            raise NotFound("No buddy request from this player")
        if await self._count_buddies(wallet) >= self.rules.limit:
            raise BuddyLimit()
        if await self._count_buddies(requester) >= self.rules.limit:
            raise BuddyLimit("Their buddy list is full")
        await self._mark_social(wallet, requester)
        low, high = pair(wallet, requester)
        try:
            await self._friendships().insert_one(
                {"low": low, "high": high, "createdAt": self.clock()}
            )
        except DuplicateKeyError:
            pass  # accepted the other way at the same moment: the unique pair makes it one
        else:
            for hook in self.befriended:
                await hook(wallet, requester)
        await self._requests().delete_many(_between(wallet, requester))
        if self.presence is not None:
            await self.presence.linked(wallet, requester)
        people = await self._people((wallet, requester))
        self.notify(requester, BuddyAdded(people[wallet]))
        return people[requester]

    async def decline(self, wallet: str, requester: str) -> None:
        """Refuse `requester`'s request (they are not told). Raises NotFound."""
        mine = {"fromWallet": requester, "toWallet": wallet, "hidden": False}
        if (await self._requests().delete_one(mine)).deleted_count == 0:
            raise NotFound("No buddy request from this player")

    async def withdraw(self, sender: str, target: str) -> None:
        """Take back a request `sender` sent `target` that waits for an answer; `target` is
        told (`buddy_request_withdrawn`) unless the request was hidden from them. Raises
        NotFound (no such request)."""
        taken = await self._requests().find_one_and_delete(
            {"fromWallet": sender, "toWallet": target}, {"hidden": 1}
        )
        if taken is None:
            raise NotFound("You have not asked this player")
        if not taken.get("hidden"):
            self.notify(target, BuddyWithdrawn(sender))

    async def remove(self, wallet: str, buddy: str) -> None:
        """End the friendship; the other is told (`buddy_removed`). Raises NotFound."""
        if not await self._unfriend(wallet, buddy):
            raise NotFound("Not your buddy")

    async def _unfriend(self, wallet: str, buddy: str) -> bool:
        low, high = pair(wallet, buddy)
        if (await self._friendships().delete_one({"low": low, "high": high})).deleted_count == 0:
            return False
        if self.presence is not None:
            await self.presence.unlinked(wallet, buddy)
        self.notify(buddy, BuddyRemoved(wallet))
        return True

    # --- reading --------------------------------------------------------------------------

    async def listing(self, wallet: str) -> BuddyList:
        """The `buddies` reply: buddies (by name), requests received and sent (newest
        first), ignored."""
        buddies, requests, ignored, sent = await asyncio.gather(
            self._buddies_of(wallet), self._received(wallet), self._ignored(wallet),
            self._sent(wallet),
        )  # fmt: skip
        people = await self._people([*buddies, *requests, *ignored, *sent])
        return BuddyList(
            sorted((people[w] for w in buddies if w in people), key=lambda b: b.username),
            [people[w] for w in requests if w in people],
            [_offline(people[w]) for w in ignored if w in people],
            # Hidden ones too: the sender must not tell that the other ignores them.
            [_offline(people[w]) for w in sent if w in people],
        )

    async def _sent(self, wallet: str) -> list[str]:
        found = (
            self._requests()
            .find({"fromWallet": wallet}, {"toWallet": 1})
            .sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
            .limit(self.rules.limit)
        )
        return [doc["toWallet"] async for doc in found]

    async def _received(self, wallet: str) -> list[str]:
        found = (
            self._requests()
            .find({"toWallet": wallet, "hidden": False}, {"fromWallet": 1})
            .sort("createdAt", DESCENDING)
            .limit(self.rules.limit)
        )
        return [doc["fromWallet"] async for doc in found]

    async def _ignored(self, wallet: str) -> list[str]:
        found = self._ignores().find({"owner": wallet}, {"wallet": 1})
        return [doc["wallet"] async for doc in found]

    async def find(self, wallet: str, buddy: str) -> Buddy:
        """Where a buddy is (online and its room instance). Raises NotFound."""
        low, high = pair(wallet, buddy)
        if await self._friendships().find_one({"low": low, "high": high}) is None:
            raise NotFound("Not your buddy")
        return await self._person(buddy)

    async def load(self, wallet: str) -> SocialLists:
        """A joining player's lists, for their node (services/buddy_presence.py); the
        requests that arrived while they were away are handed to them now."""
        buddies, requests, ignored = await asyncio.gather(
            self._buddies_of(wallet), self._received(wallet), self._ignored(wallet)
        )
        if requests:
            people = await self._people(requests)
            for sender in reversed(requests):  # oldest first, as they arrived
                if sender in people:
                    self.notify(wallet, BuddyRequested(people[sender]))
        return SocialLists(frozenset(buddies), frozenset(ignored))

    # --- ignoring -------------------------------------------------------------------------

    async def ignore(self, wallet: str, other: str) -> None:
        """Stop hearing from `other`: their chat and emotes are not delivered, their
        requests and challenges are answered as if this player were offline. Ends the
        friendship and the requests between the two. Raises InvalidMessage (oneself),
        NotFound, Conflict (already), IgnoreLimit."""
        if wallet == other:
            raise InvalidMessage("walletAddress: you cannot ignore yourself")
        await self._person(other)
        if await self._ignores().count_documents({"owner": wallet}) >= self.rules.ignore_limit:
            raise IgnoreLimit()
        await self._mark_social(wallet)
        try:
            await self._ignores().insert_one(
                {"owner": wallet, "wallet": other, "createdAt": self.clock()}
            )
        except DuplicateKeyError:
            raise Conflict("You already ignore this player") from None
        await self._unfriend(wallet, other)
        await self._requests().delete_many({"fromWallet": wallet, "toWallet": other})
        await self._requests().update_many(
            {"fromWallet": other, "toWallet": wallet}, {"$set": {"hidden": True}}
        )
        await self._refresh_ignored(wallet)

    async def unignore(self, wallet: str, other: str) -> None:
        """Hear from `other` again. Raises NotFound."""
        gone = await self._ignores().delete_one({"owner": wallet, "wallet": other})
        if gone.deleted_count == 0:
            raise NotFound("You do not ignore this player")
        await self._refresh_ignored(wallet)

    async def _refresh_ignored(self, wallet: str) -> None:
        if self.presence is not None:
            self.presence.ignoring(wallet, frozenset(await self._ignored(wallet)))

    # --- staff and erasure ----------------------------------------------------------------

    async def staff_view(self, wallet: str) -> StaffView:
        """Every list of `wallet`, both ways, for the console. Raises NotFound."""
        await self._person(wallet)
        buddies = await self._buddies_of(wallet)
        received = [
            (doc["fromWallet"], bool(doc.get("hidden")))
            async for doc in self._requests().find({"toWallet": wallet}).sort("createdAt", -1)
        ]
        sent = [doc["toWallet"] async for doc in self._requests().find({"fromWallet": wallet})]
        ignored = await self._ignored(wallet)
        ignored_by = await self._ignores().count_documents({"wallet": wallet})
        people = await self._people([*buddies, *(w for w, _ in received), *sent, *ignored])
        known = [w for w in buddies if w in people]
        return StaffView(
            sorted((people[w] for w in known), key=lambda b: b.username),
            [(people[w], hidden) for w, hidden in received if w in people],
            [people[w] for w in sent if w in people],
            [people[w] for w in ignored if w in people],
            ignored_by,
        )

    async def forget(self, wallet: str) -> Forgotten:
        """Remove `wallet` from every buddy list, request and ignore list (erasure);
        its buddies' lists, online or not, lose it at once."""
        buddies = await self._buddies_of(wallet)
        friendships = await self._friendships().delete_many(_of(wallet))
        for buddy in buddies:
            if self.presence is not None:
                await self.presence.unlinked(wallet, buddy)
            self.notify(buddy, BuddyRemoved(wallet))
        requests = await self._requests().delete_many(
            {"$or": [{"fromWallet": wallet}, {"toWallet": wallet}]}
        )
        owners = [doc["owner"] async for doc in self._ignores().find({"wallet": wallet})]
        ignores = await self._ignores().delete_many(
            {"$or": [{"owner": wallet}, {"wallet": wallet}]}
        )
        for owner in owners:
            await self._refresh_ignored(owner)
        return Forgotten(friendships.deleted_count, requests.deleted_count, ignores.deleted_count)


def _offline(buddy: Buddy) -> Buddy:
    """An ignored wallet as its ignorer's list shows it: name only, never where it is."""
    return Buddy(buddy.wallet, buddy.username)
