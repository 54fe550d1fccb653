"""A move is one single-document write with the log embedded, and the copy a node holds
never overrides the database: two MatchService "nodes" on one real database."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring

from clubpengu.games import GAMES, GameOver, NotYourTurn, get_game, replay
from clubpengu.models import Match
from clubpengu.models.base import utcnow
from clubpengu.services.economy import EconomyService
from clubpengu.services.matches import MatchService, Timing
from clubpengu.services.notices import ignore
from tests.conftest import TEST_DB
from tests.services.conftest import fail_point
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]


class Commands(monitoring.CommandListener):
    """The names of the commands a client sends, e.g. `update matches`."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self.seen.append(f"{event.command_name} {target if isinstance(target, str) else ''}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _node(client: Mongo, cache_size: int = 100) -> MatchService:
    economy = EconomyService(client, TEST_DB)
    return MatchService(client, TEST_DB, economy, ignore, Timing(cache_size=cache_size))


@pytest.fixture
async def nodes(mongo_client: Mongo) -> AsyncIterator[tuple[MatchService, MatchService]]:
    a, b = _node(mongo_client), _node(mongo_client)
    yield a, b
    await a.stop()
    await b.stop()


async def _start(node: MatchService, game: str = "tictactoe") -> tuple[Match, list[str]]:
    """A free match between two fresh wallets; returns it and the wallets by seat."""
    challenge = {
        "_id": ObjectId(), "challengerWallet": f"w{ObjectId()}", "targetWallet": f"w{ObjectId()}",
        "game": game, "wager": 0, "room": "plaza", "status": "pending",
        "expiresAt": utcnow() + timedelta(minutes=1),
    }  # fmt: skip
    await node.challenges.insert_one(challenge)
    match = await node.create(challenge)
    return match, list(match.wallets)


async def _stored(match_id: Any) -> Match:
    match = await Match.get(match_id)
    assert match is not None
    return match


async def test_a_move_is_one_write_and_a_journal_barrier_when_the_node_holds_the_match(
    mongo_uri: str,
) -> None:
    commands = Commands()
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[commands])
    node, fresh = _node(client), _node(client)
    try:
        match, seats = await _start(node)
        commands.seen.clear()
        await node.move(seats[0], str(match.id), {"cell": 4})
        held = list(commands.seen)
        commands.seen.clear()
        await fresh.move(seats[1], str(match.id), {"cell": 0})  # e.g. after a restart
        cold = list(commands.seen)
    finally:
        await node.stop()
        await fresh.stop()
        await client.close()

    assert held == ["update matches", "update journal_barrier"]
    assert cold == ["find matches", "update matches", "update journal_barrier"]


class Concerns(monitoring.CommandListener):
    """The collection and write concern of every `update` command a client sends."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.statements: list[tuple[str, int]] = []  # collection, statements: by command

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            concern = dict(event.command.get("writeConcern") or {})
            self.updates.append((event.command["update"], concern))
            self.statements.append((event.command["update"], len(event.command["updates"])))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def _one_move_concerns(client_options: dict[str, Any], mongo_uri: str) -> list[Any]:
    concerns = Concerns()
    client: Mongo = AsyncMongoClient(
        mongo_uri, tz_aware=True, event_listeners=[concerns], **client_options
    )
    node = _node(client)
    try:
        match, seats = await _start(node)
        concerns.updates.clear()
        await node.move(seats[0], str(match.id), {"cell": 4})
    finally:
        await node.stop()
        await client.close()
    return concerns.updates


async def test_a_move_is_journaled_by_the_barrier_not_by_a_flush_of_its_own(
    mongo_uri: str,
) -> None:
    # The embedded database's URI asks for journal=true: a move acknowledged to the
    # players is in the journal (docs/durability.md), through the node's barrier, which
    # moves made at the same time share, rather than a flush per move.
    updates = await _one_move_concerns({"journal": True}, mongo_uri)

    assert updates == [("matches", {"j": False}), ("journal_barrier", {"j": True})]


async def test_without_the_journal_asked_for_a_move_keeps_the_clients_write_concern(
    mongo_uri: str,
) -> None:
    # As on MongoDB, whose URI is the operator's: no barrier, the client's concern stands.
    updates = await _one_move_concerns({"journal": False, "w": 1}, mongo_uri)

    assert updates == [("matches", {"j": False, "w": 1})]


async def test_moves_made_while_a_barrier_is_in_flight_share_the_next_one(
    mongo_uri: str, mongo_client: Mongo
) -> None:
    concerns = Concerns()
    client: Mongo = AsyncMongoClient(
        mongo_uri, tz_aware=True, event_listeners=[concerns], appname="shared-barrier"
    )
    node = _node(client)
    assert node.journal is not None
    try:
        started = [await _start(node, "connect_four") for _ in range(20)]
        concerns.updates.clear()
        hold = {"blockConnection": True, "blockTimeMS": 1000, "appName": "shared-barrier"}
        async with fail_point(mongo_client, {"times": 1}, failCommands=["update"], **hold):
            held = asyncio.create_task(node.journal.wait())  # a barrier held at the database
            await eventually(lambda: concerns.updates == [("journal_barrier", {"j": True})])
            await asyncio.gather(
                *(node.move(seats[0], str(match.id), {"column": 3}) for match, seats in started)
            )
            await held
    finally:
        await node.stop()
        await client.close()

    moves = [n for name, n in concerns.statements if name == "matches"]
    barriers = [u for u in concerns.updates if u[0] == "journal_barrier"]
    # The held one, then one for all 20 moves (two should a slow machine take more than
    # the held second to answer the 20 updates): never one a move.
    assert sum(moves) == 20 and 2 <= len(barriers) <= 3


async def test_moves_of_many_matches_made_together_are_written_by_one_command(
    mongo_uri: str,
) -> None:
    """Group commit: moves that come while one is being written go together in the next
    command, one statement each; a move alone goes at once, alone."""
    concerns = Concerns()
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[concerns])
    node = _node(client)
    try:
        started = [await _start(node) for _ in range(21)]
        concerns.statements.clear()
        match, seats = started[0]
        await node.move(seats[0], str(match.id), {"cell": 4})
        alone = [n for name, n in concerns.statements if name == "matches"]
        concerns.statements.clear()
        after = await asyncio.gather(
            *(node.move(seats[0], str(match.id), {"cell": 4}) for match, seats in started[1:])
        )
        together = [n for name, n in concerns.statements if name == "matches"]
    finally:
        await node.stop()
        await client.close()

    assert alone == [1]
    # All 20 were asked for before the first could be sent: one command (two at most, on
    # a machine that lets the first go before the rest are asked for).
    assert sum(together) == 20 and len(together) <= 2
    for (match, _), played in zip(started, [None, *after], strict=True):
        stored = await _stored(match.id)
        assert stored.version == stored.seq == 1 and stored.log[0].move == {"cell": 4}
        assert played is None or played.version == 1


async def test_a_stale_move_written_with_others_is_refused_alone(
    mongo_uri: str, nodes: tuple[MatchService, MatchService]
) -> None:
    """One command holds five moves; the match of one changed on another node meanwhile:
    that move matches nothing and is checked against a fresh read, the four others apply."""
    concerns = Concerns()
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[concerns])
    a, b = _node(client), nodes[1]
    try:
        started = [await _start(a) for _ in range(5)]
        stale, stale_seats = started[2]
        await b.move(stale_seats[0], str(stale.id), {"cell": 0})
        concerns.statements.clear()
        results = await asyncio.gather(
            *(a.move(seats[0], str(match.id), {"cell": 8}) for match, seats in started),
            return_exceptions=True,
        )
        sent = [n for name, n in concerns.statements if name == "matches"]
    finally:
        await a.stop()
        await client.close()

    assert isinstance(results[2], NotYourTurn)  # legal on a's stale copy, not on the match
    assert sent[0] == 5
    for number, (match, _) in enumerate(started):
        stored = await _stored(match.id)
        assert stored.version == stored.seq == 1
        assert stored.log[0].move == ({"cell": 0} if number == 2 else {"cell": 8})
        if number != 2:
            assert isinstance(results[number], Match) and results[number].version == 1


async def test_a_lost_reply_to_moves_written_together_is_settled_per_move(
    mongo_uri: str, mongo_client: Mongo
) -> None:
    """The connection drops on the command that holds three moves (none applied): each is
    found not written by reading its match, and written again; each applies exactly once."""
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, appname="lost-group")
    node = _node(client)
    try:
        started = [await _start(node) for _ in range(3)]
        async with fail_point(
            mongo_client, {"times": 1}, failCommands=["update"], closeConnection=True,
            appName="lost-group",
        ):  # fmt: skip
            after = await asyncio.gather(
                *(node.move(seats[0], str(match.id), {"cell": 4}) for match, seats in started)
            )
    finally:
        await node.stop()
        await client.close()

    for (match, _), played in zip(started, after, strict=True):
        stored = await _stored(match.id)
        assert played.seq == stored.seq == stored.version == 1
        assert [(e.seq, e.move) for e in stored.log] == [(1, {"cell": 4})]


async def test_a_stale_write_matches_nothing_and_is_refused_never_overwrites(
    mongo_uri: str, nodes: tuple[MatchService, MatchService]
) -> None:
    commands = Commands()
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[commands])
    a, b = _node(client), nodes[1]
    try:
        match, seats = await _start(a)  # a holds version 0: seat 0 to move
        await b.move(seats[0], str(match.id), {"cell": 0})
        commands.seen.clear()
        with pytest.raises(NotYourTurn):
            await a.move(seats[0], str(match.id), {"cell": 8})  # legal on a's stale copy
        seen = list(commands.seen)
    finally:
        await a.stop()
        await client.close()

    assert seen == ["update matches", "find matches"]  # the write matched nothing; read
    stored = await _stored(match.id)
    assert stored.version == stored.seq == 1 and [e.move for e in stored.log] == [{"cell": 0}]
    assert stored.state["board"] == [0] + [None] * 8


async def test_a_stale_write_is_retried_on_the_fresh_match(
    mongo_uri: str, nodes: tuple[MatchService, MatchService]
) -> None:
    """Card-Jitsu's seats pick at once, so a pick made on a stale copy is still legal."""
    commands = Commands()
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[commands])
    a, b = _node(client), nodes[1]
    game = get_game("card_jitsu")
    try:
        match, seats = await _start(a, "card_jitsu")
        await b.move(seats[0], str(match.id), game.legal_moves(match.state, 0)[0])
        commands.seen.clear()
        after = await a.move(seats[1], str(match.id), game.legal_moves(match.state, 1)[0])
        seen = list(commands.seen)
    finally:
        await a.stop()
        await client.close()

    assert seen == ["update matches", "find matches", "update matches", "update journal_barrier"]
    stored = await _stored(match.id)
    assert after.version == stored.version == 2 and stored.state["roundsPlayed"] == 1
    assert [(e.seq, e.seat) for e in stored.log] == [(1, 0), (2, 1)]
    assert replay(game, stored.seed, stored.moves()) == stored.state


async def test_a_move_a_stale_copy_refuses_is_checked_against_the_database(
    nodes: tuple[MatchService, MatchService],
) -> None:
    a, b = nodes
    match, seats = await _start(a)  # a holds version 0: seat 0 to move
    match_id = str(match.id)
    await b.move(seats[0], match_id, {"cell": 0})

    moved = await a.move(seats[1], match_id, {"cell": 4})
    with pytest.raises(NotYourTurn):
        await a.move(seats[1], match_id, {"cell": 5})

    assert moved.seq == 2 and (await _stored(match.id)).seq == 2


async def test_a_match_settled_on_another_node_takes_no_more_moves(
    nodes: tuple[MatchService, MatchService],
) -> None:
    a, b = nodes
    match, seats = await _start(a)
    match_id = str(match.id)
    await a.move(seats[0], match_id, {"cell": 0})

    await b.forfeit(seats[1], match_id)
    with pytest.raises(GameOver):
        await a.move(seats[1], match_id, {"cell": 4})

    stored = await _stored(match.id)
    assert stored.status == "completed" and stored.result == "forfeit"
    assert stored.seq == len(stored.log) == 1 and stored.winner_wallet == seats[0]


async def test_a_match_at_its_move_limit_takes_no_more_moves(
    nodes: tuple[MatchService, MatchService],
) -> None:
    a, b = nodes
    match, seats = await _start(a)
    limit = get_game("tictactoe").max_moves
    await a.matches.update_one({"_id": match.id}, {"$set": {"seq": limit}, "$inc": {"version": 1}})

    with pytest.raises(GameOver):
        await b.move(seats[0], str(match.id), {"cell": 0})

    assert (await _stored(match.id)).log == []


@pytest.mark.parametrize("game_id", sorted(GAMES))
async def test_a_whole_random_game_replays_from_its_embedded_log(
    nodes: tuple[MatchService, MatchService], game_id: str
) -> None:
    """Moves alternate between the nodes, so every other move starts from a stale copy."""
    game = GAMES[game_id]
    rng = random.Random(f"service-replay-{game_id}")
    match, seats = await _start(nodes[0], game_id)
    current = match
    while current.status == "active":
        seat = rng.choice(game.seats_to_move(current.state))
        move = rng.choice(game.legal_moves(current.state, seat))
        current = await nodes[current.seq % 2].move(seats[seat], str(match.id), move)

    stored = await _stored(match.id)
    assert stored.status == "completed" and stored.result == game.outcome(stored.state).reason  # type: ignore[union-attr]
    assert [e.seq for e in stored.log] == list(range(1, stored.seq + 1))
    assert stored.seq <= game.max_moves and stored.version == stored.seq
    assert replay(game, stored.seed, stored.moves()) == stored.state


async def test_without_a_cache_every_move_reads_first(mongo_client: Mongo) -> None:
    node = _node(mongo_client, cache_size=0)
    try:
        match, seats = await _start(node)
        await node.move(seats[0], str(match.id), {"cell": 0})
        held = len(node.cache)
    finally:
        await node.stop()

    assert held == 0 and (await _stored(match.id)).seq == 1


async def test_a_move_whose_reply_is_lost_is_applied_exactly_once(
    mongo_uri: str, mongo_client: Mongo
) -> None:
    """The connection drops on the move's write: the node reads the match to learn whether
    it applied, and writes it (again) only if it did not."""
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, appname="lost-reply")
    node = _node(client)
    try:
        match, seats = await _start(node)
        async with fail_point(
            mongo_client, {"times": 1}, failCommands=["update"], closeConnection=True,
            appName="lost-reply",
        ):  # fmt: skip
            after = await node.move(seats[0], str(match.id), {"cell": 4})
    finally:
        await node.stop()
        await client.close()

    stored = await _stored(match.id)
    assert after.seq == stored.seq == stored.version == 1
    assert [(e.seq, e.move) for e in stored.log] == [(1, {"cell": 4})]
