"""The chat log against the real database: lines buffered, written in batches, read back per
room (written or not yet), kept with a TTL, and never lost to a failed batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clubpengu.models import ChatLine
from clubpengu.services.chat_log import ChatLog
from tests.conftest import TEST_DB
from tests.services.conftest import Client, fail_point

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)  # every line at its own moment
        return self.now


@pytest.fixture
def log(mongo_client: Client) -> ChatLog:
    return ChatLog(mongo_client, TEST_DB, "node-t", 30 * 86400.0, clock=Clock())


def say(log: ChatLog, room: str, n: int, who: str = "Waddles") -> None:
    log.record(room, "W" * 44, "p1", who, f"hello {n}", f"hello {n}")


async def test_a_line_is_buffered_not_written_and_still_read_back(log: ChatLog) -> None:
    log.record("town", "W" * 44, "p1", "Waddles", "you idiot", "you *****")

    recent = await log.recent("town")

    assert await ChatLine.count() == 0
    assert [(line["sent"], line["shown"], line["username"]) for line in recent] == [
        ("you idiot", "you *****", "Waddles")
    ]


async def test_a_flush_writes_the_lines_once_with_their_expiry(log: ChatLog) -> None:
    say(log, "town", 1)
    say(log, "plaza", 2)

    written = await log.flush()
    recent = await log.recent("town")

    assert written == 2 and log.pending == 0
    assert [line["sent"] for line in recent] == ["hello 1"]
    line = await ChatLine.find_one(ChatLine.room == "plaza")
    assert line is not None and line.expires_at - line.at == timedelta(days=30)
    assert line.node_id == "node-t"


async def test_a_room_s_last_twenty_lines_come_oldest_first_from_the_database_and_the_buffer(
    log: ChatLog,
) -> None:
    for n in range(15):
        say(log, "town", n)
    say(log, "plaza", 99)
    await log.flush()
    for n in range(15, 25):
        say(log, "town", n)

    recent = await log.recent("town")

    assert [line["sent"] for line in recent] == [f"hello {n}" for n in range(5, 25)]


async def test_a_batch_that_fails_is_kept_and_written_by_the_next_flush(
    log: ChatLog, mongo_client: Client
) -> None:
    say(log, "town", 1)

    async with fail_point(mongo_client, {"times": 1}, failCommands=["insert"], errorCode=2):
        failed = await log.flush()
    recent = await log.recent("town")
    written = await log.flush()

    assert failed == 0 and [line["sent"] for line in recent] == ["hello 1"]
    assert written == 1 and await ChatLine.count() == 1


async def test_a_full_buffer_drops_its_oldest_lines_and_counts_them(mongo_client: Client) -> None:
    log = ChatLog(mongo_client, TEST_DB, "node-t", 86400.0, max_buffer=3, clock=Clock())
    for n in range(5):
        say(log, "town", n)

    recent = await log.recent("town")

    assert log.dropped == 2
    assert [line["sent"] for line in recent] == ["hello 2", "hello 3", "hello 4"]


async def test_stop_writes_what_is_left(log: ChatLog) -> None:
    log.start()
    say(log, "town", 1)

    await log.stop()

    assert await ChatLine.count() == 1
