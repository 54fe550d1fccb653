"""The embedded database keeps every write it acknowledged as journaled when its process is
killed: the ledger's transactions (each followed by a journal barrier) and single writes
with the client's default write concern (`journal=true` in the embedded URI)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from clubpengu.db import EmbeddedDatabase, journal_barrier
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
