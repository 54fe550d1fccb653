"""The embedded database keeps every acknowledged write when its process is killed."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from pymongo import MongoClient, WriteConcern
from pymongo.read_concern import ReadConcern

from clubpengu.db import EmbeddedDatabase

COMMITS = 60


def _commit_many(uri: str) -> None:
    """One transaction per document, as the ledger writes them."""
    majority = WriteConcern("majority")
    with MongoClient(uri) as client:
        collection = client.durability.get_collection("entries", write_concern=majority)
        for number in range(COMMITS):
            with (
                client.start_session() as session,
                session.start_transaction(ReadConcern("snapshot"), majority),
            ):
                collection.insert_one({"_id": number}, session=session)


def _count(uri: str) -> int:
    client: MongoClient[dict[str, Any]]
    with MongoClient(uri) as client:
        return client.durability.entries.count_documents({})


def test_acknowledged_commits_survive_a_kill_of_the_database(tmp_path: Path) -> None:
    database = EmbeddedDatabase(tmp_path)
    _commit_many(database.start())
    assert database.process is not None

    # At once, with no pause: what the database acknowledged must already be on disk.
    database.process.send_signal(signal.SIGKILL)
    database.process.wait()
    database.process = None
    again = EmbeddedDatabase(tmp_path, port=database.port)
    try:
        survived = _count(again.start())
    finally:
        again.stop()

    assert survived == COMMITS
