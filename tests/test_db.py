"""The embedded database keeps every write it acknowledged as journaled when its process is
killed: the ledger's transactions (each followed by a journal barrier), single writes
with the client's default write concern (`journal=true` in the embedded URI), and match
moves (written without a journal wait of their own, then a shared journal barrier)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient, MongoClient

from clubpengu.db import EmbeddedDatabase, journal_barrier
from clubpengu.games import get_game
from clubpengu.models.base import utcnow
from clubpengu.services.economy import EconomyService
from clubpengu.services.matches import MatchService
from clubpengu.services.matches.start import new_match
from clubpengu.services.notices import ignore
from clubpengu.services.transaction_runner import Session, TransactionRunner

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
