"""A crowd leaving at once (a node's players cut off together): the challenges each
leaver sent are cancelled and, once their graces end, their matches forfeited, with the
leavers looked up together in a query or two, not one query each queued ahead of every
move of the node. On the real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring

from clubpengu.models import MatchStatus
from clubpengu.models.base import utcnow
from clubpengu.services.challenges import ChallengeService
from clubpengu.services.economy import EconomyService
from clubpengu.services.matches import MatchService, Timing
from clubpengu.services.notices import ChallengeEnded, Notice
from tests.conftest import TEST_DB

Mongo = AsyncMongoClient[dict[str, Any]]
CROWD = 30


class Finds(monitoring.CommandListener):
    """The filter of every `find` a client sends, by collection."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.seen.append((event.command["find"], dict(event.command.get("filter", {}))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def of(self, collection: str, by: str) -> int:
        """How many finds of `collection` filtered by the field `by`."""
        return sum(1 for name, query in self.seen if name == collection and by in query)


@dataclass
class Node:
    finds: Finds
    matches: MatchService
    challenges: ChallengeService
    told: list[tuple[str, Notice]]


@pytest.fixture
async def node(mongo_uri: str) -> AsyncIterator[Node]:
    finds = Finds()
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[finds])
    told: list[tuple[str, Notice]] = []

    def notify(wallet: str, notice: Notice) -> None:
        told.append((wallet, notice))

    economy = EconomyService(client, TEST_DB)
    matches = MatchService(client, TEST_DB, economy, notify, Timing(), computer_workers=0)
    challenges = ChallengeService(
        client, TEST_DB, economy, matches, notify, ttl_seconds=60, max_wager=100
    )
    yield Node(finds, matches, challenges, told)
    await matches.stop()
    await client.close()


def _challenge(challenger: str, target: str, status: str = "pending") -> dict[str, Any]:
    now = utcnow()
    return {
        "_id": ObjectId(), "challengerWallet": challenger, "targetWallet": target,
        "game": "tictactoe", "wager": 0, "room": "plaza", "status": status,
        "createdAt": now, "expiresAt": now + timedelta(minutes=1),
    }  # fmt: skip


async def test_a_crowd_leaving_cancels_each_challenge_sent_in_one_or_two_queries(
    node: Node,
) -> None:
    sent = [_challenge(f"c{i}", f"t{i}") for i in range(CROWD)]
    answered = _challenge("c0", "t-old", status="declined")
    staying = _challenge("stays", "t0")
    await node.matches.challenges.insert_many([*sent, answered, staying])
    node.finds.seen.clear()

    await asyncio.gather(*(node.challenges.cancel_all_from(f"c{i}") for i in range(CROWD)))

    status = {d["_id"]: d["status"] async for d in node.matches.challenges.find({}, {"status": 1})}
    assert [status[c["_id"]] for c in sent] == ["cancelled"] * CROWD
    assert status[answered["_id"]] == "declined"
    assert status[staying["_id"]] == "pending"
    # The first leaver is looked up at once, the 29 who came meanwhile together.
    assert node.finds.of("challenges", "challengerWallet") <= 2
    ended = {(w, n.challenge_id, n.reason) for w, n in node.told if isinstance(n, ChallengeEnded)}
    assert ended == {(f"t{i}", str(c["_id"]), "challenger_left") for i, c in enumerate(sent)}


async def test_a_crowd_whose_graces_end_together_forfeits_each_match_in_one_or_two_queries(
    node: Node,
) -> None:
    started = []
    for pair in [*((f"a{i}", f"b{i}") for i in range(CROWD)), ("x", "y"), ("c", "d")]:
        challenge = _challenge(*pair)
        await node.matches.challenges.insert_one(challenge)
        started.append(await node.matches.create(challenge))
    *crowd, both_gone, playing_on = started
    node.finds.seen.clear()

    # y's grace ends first, then x's with the crowd's: y loses the match they shared.
    leavers = ["y", "x", *(f"a{i}" for i in range(CROWD))]
    await asyncio.gather(*(node.matches.forfeit_gone(wallet) for wallet in leavers))

    ended = {m.id: await node.matches.get(str(m.id)) for m in started}
    for i, match in enumerate(crowd):
        assert ended[match.id].status == MatchStatus.COMPLETED
        assert ended[match.id].result == "disconnect"
        assert ended[match.id].winner_wallet == f"b{i}"  # who stayed
    assert ended[both_gone.id].winner_wallet == "x"
    assert ended[playing_on.id].status == MatchStatus.ACTIVE
    # The first leaver looked up at once, the 31 who came meanwhile together (each
    # settlement then reads its own match by _id).
    assert node.finds.of("matches", "wallets") <= 2
