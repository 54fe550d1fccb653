"""The embedded database keeps every write it acknowledged as journaled when its process is
killed: the ledger's transactions (each followed by a journal barrier), single writes
with the client's default write concern (`journal=true` in the embedded URI), and match
moves (written without a journal wait of their own, then a shared journal barrier), and
the start of a match against the computer (two writes without a transaction, then one
barrier)."""

from __future__ import annotations

import asyncio
import signal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, MongoClient

from clubpengu.db import EmbeddedDatabase, journal_barrier
from clubpengu.games import get_game
from clubpengu.models import Match, MatchStatus
from clubpengu.models.base import utcnow
from clubpengu.services.economy import EconomyService
from clubpengu.services.matches import MatchService, Timing
from clubpengu.services.matches.start import new_match
from clubpengu.services.notices import ignore
from clubpengu.services.transaction_runner import Session, TransactionRunner
from tests.waiting import eventually

COMMITS = 60


async def _commit_many(uri: str) -> None:
    """One transaction per document, as the ledger writes them."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    runner = TransactionRunner(client, journal=journal_barrier(client, "durability"))
    entries = client.durability.entries
    try:
        for number in range(COMMITS):

            async def insert(session: Session, number: int = number) -> None:
                await entries.insert_one({"_id": number}, session=session)

            await runner.run(insert)
    finally:
        await client.close()


async def _write_many(uri: str) -> None:
    """Single writes with the client's default write concern, as a shop's equip is made."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        for number in range(COMMITS):
            await client.durability.entries.insert_one({"_id": number})
    finally:
        await client.close()


def _kill_and_count(tmp_path: Path, database: EmbeddedDatabase) -> int:
    # At once, with no pause: what the database acknowledged must already be on disk.
    assert database.process is not None
    database.process.send_signal(signal.SIGKILL)
    database.process.wait()
    database.process = None
    again = EmbeddedDatabase(tmp_path, port=database.port)
    client: MongoClient[dict[str, Any]]
    try:
        with MongoClient(again.start()) as client:
            return client.durability.entries.count_documents({})
    finally:
        again.stop()


async def test_acknowledged_ledger_transactions_survive_a_kill_of_the_database(
    tmp_path: Path,
) -> None:
    database = EmbeddedDatabase(tmp_path)
    await _commit_many(database.start())

    survived = _kill_and_count(tmp_path, database)

    assert survived == COMMITS


async def test_acknowledged_journaled_single_writes_survive_a_kill_of_the_database(
    tmp_path: Path,
) -> None:
    database = EmbeddedDatabase(tmp_path)
    await _write_many(database.start())

    survived = _kill_and_count(tmp_path, database)

    assert survived == COMMITS


MATCHES, MOVES_EACH = 50, 6  # connect four: no one can line up four in six moves


async def _move_many(uri: str) -> dict[Any, int]:
    """Non-final moves of `MATCHES` connect-four matches played at once through the match
    service, as a node plays them; returns each match's acknowledged moves."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    node = MatchService(client, "durability", EconomyService(client, "durability"), ignore)
    game = get_game("connect_four")
    acknowledged: dict[Any, int] = {}

    async def play(number: int) -> None:
        challenge = {
            "_id": ObjectId(), "challengerWallet": f"a{number}", "targetWallet": f"b{number}",
            "wager": 0,
        }  # fmt: skip
        match = new_match(challenge, game, {}, utcnow(), 60.0)
        await node.matches.insert_one(match.model_dump(by_alias=True))
        acknowledged[match.id] = 0
        for turn in range(MOVES_EACH):
            seat = turn % 2
            moved = await node.move(match.wallets[seat], str(match.id), {"column": number % 7})
            acknowledged[match.id] = moved.seq

    try:
        await asyncio.gather(*(play(number) for number in range(MATCHES)))
    finally:
        await node.stop()
        await client.close()
    return acknowledged


async def test_acknowledged_match_moves_survive_a_kill_of_the_database(tmp_path: Path) -> None:
    # A move is written without waiting for the journal; the journal barrier it waits for
    # before it is acknowledged must cover it (docs/durability.md).
    database = EmbeddedDatabase(tmp_path)
    acknowledged = await _move_many(database.start())

    assert database.process is not None
    database.process.send_signal(signal.SIGKILL)
    database.process.wait()
    database.process = None
    again = EmbeddedDatabase(tmp_path, port=database.port)
    client: MongoClient[dict[str, Any]]
    try:
        with MongoClient(again.start()) as client:
            stored = {m["_id"]: m["seq"] for m in client.durability.matches.find({}, {"seq": 1})}
    finally:
        again.stop()

    assert sum(acknowledged.values()) == MATCHES * MOVES_EACH
    lost = {match: seq for match, seq in acknowledged.items() if stored.get(match, 0) < seq}
    assert lost == {}


PEOPLE = 30


async def _play_computer_many(uri: str, turns: int) -> tuple[dict[Any, int], list[str]]:
    """`PEOPLE` matches against the computer started and played at once through the match
    service, the computer's answers in the same update as the moves (a budget none
    misses); returns each match's acknowledged seq and the people."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    economy = EconomyService(client, "durability")
    timing = Timing(computer_answer=30.0)
    node = MatchService(client, "durability", economy, ignore, timing, computer_workers=0)
    game = get_game("connect_four")
    people = [f"p{number}" for number in range(PEOPLE)]
    await client.durability.users.insert_many([{"walletAddress": w} for w in people])
    acknowledged: dict[Any, int] = {}

    async def play(wallet: str) -> None:
        match = await node.play_computer(wallet, "connect_four", "easy", None, wallet)
        acknowledged[match.id] = match.seq
        seat = match.wallets.index(wallet)
        for _ in range(turns):
            match = await eventually(partial(_ours, node, str(match.id), seat), "our turn")
            if match.status != MatchStatus.ACTIVE:
                return
            move = game.legal_moves(match.state, seat)[0]
            moved = await node.move(wallet, str(match.id), move)
            acknowledged[match.id] = moved.seq

    try:
        await asyncio.gather(*(play(wallet) for wallet in people))
    finally:
        await node.stop()
        await client.close()
    return acknowledged, people


async def _ours(node: MatchService, match_id: str, seat: int) -> Match | None:
    match = await node.get(match_id)
    waiting = get_game(match.game).seats_to_move(match.state)
    return match if match.status != MatchStatus.ACTIVE or seat in waiting else None


@pytest.mark.parametrize("turns", [0, 3])
async def test_acknowledged_starts_and_answered_moves_against_the_computer_survive_a_kill(
    tmp_path: Path, turns: int
) -> None:
    # A start is the User's count and the Match insert, neither waiting for the journal,
    # then one barrier; a move and the computer's answer are one update and one barrier.
    # Killed right after the starts (0 turns) or after some moves.
    database = EmbeddedDatabase(tmp_path)
    acknowledged, people = await _play_computer_many(database.start(), turns)

    assert database.process is not None
    database.process.send_signal(signal.SIGKILL)
    database.process.wait()
    database.process = None
    again = EmbeddedDatabase(tmp_path, port=database.port)
    client: MongoClient[dict[str, Any]]
    try:
        with MongoClient(again.start()) as client:
            stored = {m["_id"]: m for m in client.durability.matches.find({})}
            counts = {
                u["walletAddress"]: u.get("activeMatches") for u in client.durability.users.find({})
            }
    finally:
        again.stop()

    assert len(acknowledged) == PEOPLE
    assert sorted(m["playing"][0] for m in stored.values()) == sorted(people)
    assert all(stored[i]["seq"] >= seq for i, seq in acknowledged.items())
    for match in stored.values():
        (person,) = match["playing"]
        assert counts[person] == (1 if match["status"] == "active" else 0)
