"""StatsBatcher against the real database: merging, one bulk write per flush, failures put
back and written exactly once, shutdown, batching off, and what is refused.

The batcher gets its own client, named APP, with a CommandListener that records every
`update` command it sends; fail points are scoped to that client with `appName`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from clubpengu.models import User
from clubpengu.services.stats import StatsBatcher
from tests.conftest import TEST_DB

APP = "stats-batcher-test"
# HostUnreachable: retryable (the driver retries once) but, unlike 91 ShutdownInProgress, not a
# server state change, after which the driver waits for its monitor to see the server again.
TRANSIENT = 6
ALICE, BOB, CAROL = "AliceWallet1111", "BobWallet2222", "CarolWallet3333"


class UpdateListener(monitoring.CommandListener):
    """Records the `update` commands a client starts: one entry per command, its ops."""

    def __init__(self) -> None:
        self.commands: list[list[dict[str, Any]]] = []
        self.ordered: list[bool] = []
        self.sent = asyncio.Event()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            self.commands.append(list(event.command["updates"]))
            self.ordered.append(event.command.get("ordered", True))
            self.sent.set()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class ManualSleep:
    """The batcher's injected sleep: records each delay and waits until the test wakes it."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._calls: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()

    async def __call__(self, delay: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.delays.append(delay)
        self._calls.put_nowait(wake)
        await wake

    async def next_call(self) -> asyncio.Future[None]:
        async with asyncio.timeout(10):
            return await self._calls.get()


async def no_sleep(delay: float) -> None:
    pass


@pytest.fixture
def listener() -> UpdateListener:
    return UpdateListener()


@pytest.fixture
async def batcher_client(
    mongo_uri: str, listener: UpdateListener
) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    # After a state-change error (91) the driver waits for its monitor's next check; the
    # shortest heartbeat keeps that to half a second instead of ten. Retryable writes on, as
    # against MongoDB (the embedded database's URI turns them off): these tests show how
    # the batcher and the driver's one retry work together.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, appname=APP, event_listeners=[listener], heartbeatFrequencyMS=500,
        retryWrites=True,
    )  # fmt: skip
    yield client
    await client.close()


@pytest.fixture
def make_batcher(
    batcher_client: AsyncMongoClient[dict[str, Any]],
) -> Callable[..., StatsBatcher]:
    def make(**options: Any) -> StatsBatcher:
        return StatsBatcher.for_database(batcher_client, TEST_DB, **options)

    return make


@pytest.fixture
async def players() -> None:
    for number, wallet in enumerate((ALICE, BOB, CAROL)):
        await User(wallet_address=wallet, username=f"Penguin{number}").insert()


@contextlib.asynccontextmanager
async def fail_point(
    client: AsyncMongoClient[dict[str, Any]], mode: Any, **data: Any
) -> AsyncIterator[None]:
    """SecantusDB's failCommand on `update`, for the batcher's client only; always off after."""
    data = {"failCommands": ["update"], "appName": APP, **data}
    await client.admin.command({"configureFailPoint": "failCommand", "mode": mode, "data": data})
    try:
        yield
    finally:
        await client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})


async def stored(client: AsyncMongoClient[dict[str, Any]], wallet: str) -> dict[str, Any]:
    document = await client[TEST_DB]["users"].find_one({"walletAddress": wallet})
    assert document is not None
    stats: dict[str, Any] = document["stats"]
    return stats


# -- merging and flushing ------------------------------------------------------------------


@pytest.mark.usefixtures("players")
async def test_many_increments_become_one_inc_per_player_in_one_unordered_bulk_write(
    make_batcher: Callable[..., StatsBatcher],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    for step in (1, 2, 3):
        batcher.queue(ALICE, "movement.steps", step)
    batcher.queue(ALICE, "chat.messagesSent")
    batcher.queue(BOB, "movement.steps", 5)

    report = await batcher.flush()

    assert report.ok and (report.players, report.ops, report.bulk_writes) == (2, 2, 1)
    assert listener.ordered == [False]
    assert sorted((op["q"]["walletAddress"], op["u"]) for op in listener.commands[0]) == [
        (ALICE, {"$inc": {"stats.movement.steps": 6, "stats.chat.messagesSent": 1}}),
        (BOB, {"$inc": {"stats.movement.steps": 5}}),
    ]
    alice = await stored(mongo_client, ALICE)
    assert alice["movement"] == {"steps": 6} and alice["chat"] == {"messagesSent": 1}
    assert (await stored(mongo_client, BOB))["movement"] == {"steps": 5}
    assert alice["economy"] == {"totalCoinsEarned": 0, "totalCoinsSpent": 0}


@pytest.mark.usefixtures("players")
async def test_fields_set_with_the_counters_go_in_the_players_one_update_or_alone(
    make_batcher: Callable[..., StatsBatcher],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 4)
    batcher.set_with_counters(ALICE, {"lastRoom": "dock", "lastX": 1.0})
    batcher.set_with_counters(ALICE, {"lastX": 2.5})  # the later wins
    batcher.set_with_counters(BOB, {"lastRoom": "town"})

    report = await batcher.flush()

    assert report.ok and (report.players, report.ops, report.bulk_writes) == (2, 2, 1)
    assert sorted((op["q"]["walletAddress"], op["u"]) for op in listener.commands[0]) == [
        (ALICE, {"$inc": {"stats.movement.steps": 4},
                 "$set": {"lastRoom": "dock", "lastX": 2.5}}),
        (BOB, {"$set": {"lastRoom": "town"}}),
    ]  # fmt: skip
    users = mongo_client[TEST_DB]["users"]
    alice = await users.find_one({"walletAddress": ALICE})
    bob = await users.find_one({"walletAddress": BOB})
    assert alice is not None and bob is not None
    assert (alice["lastRoom"], alice["lastX"], alice["stats"]["movement"]) == (
        "dock",
        2.5,
        {"steps": 4},
    )
    assert bob["lastRoom"] == "town"
    assert (await batcher.flush()).players == 0 and batcher.pending_sets == 0


@pytest.mark.usefixtures("players")
async def test_fields_of_a_failed_flush_are_kept_and_a_later_value_still_wins(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    batcher.set_with_counters(BOB, {"lastRoom": "dock", "lastX": 1.0})

    async with fail_point(batcher_client, {"times": 2}, errorCode=91, closeConnection=False):
        failed = await batcher.flush()
    batcher.set_with_counters(BOB, {"lastX": 9.0})
    retried = await batcher.flush()

    assert not failed.ok and failed.requeued == 1
    assert retried.ok and retried.players == 1 and batcher.pending_sets == 0
    assert batcher.pending_count == 0
    bob = await mongo_client[TEST_DB]["users"].find_one({"walletAddress": BOB})
    assert bob is not None and (bob["lastRoom"], bob["lastX"]) == ("dock", 9.0)


def test_fields_under_stats_are_not_set_with_the_counters(
    make_batcher: Callable[..., StatsBatcher],
) -> None:
    batcher = make_batcher()
    for fields in ({"stats": {}}, {"stats.movement.steps": 1}, {"$inc": {}}):
        with pytest.raises(ValueError):
            batcher.set_with_counters(ALICE, fields)
    with pytest.raises(ValueError):
        batcher.set_with_counters("", {"lastRoom": "town"})
    batcher.set_with_counters(ALICE, {})  # nothing to set: nothing to write
    assert batcher.pending_sets == 0


@pytest.mark.usefixtures("players")
async def test_a_flush_empties_pending_and_the_next_flush_writes_nothing(
    make_batcher: Callable[..., StatsBatcher],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 4)
    queued = (batcher.pending(ALICE), batcher.pending_count)

    await batcher.flush()
    second = await batcher.flush()

    assert queued == ({"movement.steps": 4}, 1)
    assert batcher.pending(ALICE) == {} and batcher.pending_count == 0
    assert second.players == 0 and len(listener.commands) == 1
    assert batcher.flushes == 1 and batcher.flush_failures == 0
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 4}


async def test_a_large_batch_is_written_in_chunks_of_chunk_size_players(
    make_batcher: Callable[..., StatsBatcher],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    wallets = [f"Wallet{number:04d}" for number in range(25)]
    await mongo_client[TEST_DB]["users"].insert_many(
        [{"walletAddress": w, "username": w, "stats": {}} for w in wallets]
    )
    batcher = make_batcher(chunk_size=10)
    for wallet in wallets:
        batcher.queue(wallet, "rooms.visited", 2)

    report = await batcher.flush()

    assert [len(ops) for ops in listener.commands] == [10, 10, 5]
    assert report.bulk_writes == 3 and report.ops == 25
    total = await mongo_client[TEST_DB]["users"].aggregate(
        [{"$group": {"_id": None, "n": {"$sum": "$stats.rooms.visited"}}}]
    )
    assert [row["n"] async for row in total] == [50]


@pytest.mark.usefixtures("players")
async def test_get_stats_is_the_stored_value_plus_pending_before_and_after_a_flush(
    make_batcher: Callable[..., StatsBatcher], mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 10)
    await batcher.flush()
    batcher.queue(ALICE, "movement.steps", 5)
    batcher.queue(ALICE, "emotes.sent", 2)

    before = await batcher.get_stats(ALICE)
    await batcher.flush()
    after = await batcher.get_stats(ALICE)

    assert before["movement"] == {"steps": 15} and before["emotes"] == {"sent": 2}
    assert before["economy"] == {"totalCoinsEarned": 0, "totalCoinsSpent": 0}
    assert after == before
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 15}


@pytest.mark.usefixtures("players")
async def test_get_stats_during_a_flush_counts_the_increments_being_written_once(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    listener: UpdateListener,
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 2)

    async with fail_point(batcher_client, {"times": 1}, blockConnection=True, blockTimeMS=300):
        flushing = asyncio.create_task(batcher.flush())
        await asyncio.wait_for(listener.sent.wait(), 5)  # on the wire, held by the server
        batcher.queue(ALICE, "movement.steps", 3)
        during = await batcher.get_stats(ALICE)
        await flushing

    assert during["movement"] == {"steps": 5}
    assert batcher.pending(ALICE) == {"movement.steps": 3}
    assert (await batcher.get_stats(ALICE))["movement"] == {"steps": 5}


@pytest.mark.usefixtures("players")
async def test_concurrent_flushes_write_each_increment_once(
    make_batcher: Callable[..., StatsBatcher],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 7)
    batcher.queue(BOB, "movement.steps", 1)

    reports = await asyncio.gather(*(batcher.flush() for _ in range(3)))

    assert sorted(report.players for report in reports) == [0, 0, 2]
    assert len(listener.commands) == 1
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 7}


@pytest.mark.usefixtures("players")
async def test_a_flush_asked_for_while_one_is_writing_starts_none_and_the_next_takes_the_rest(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 1)

    async with fail_point(batcher_client, {"times": 1}, blockConnection=True, blockTimeMS=300):
        first = asyncio.create_task(batcher.flush())
        await listener.sent.wait()  # the first flush's bulk write is held at the database
        batcher.queue(ALICE, "movement.steps", 2)
        batcher.queue(BOB, "movement.steps", 4)
        second = await batcher.flush()
        sent_meanwhile = len(listener.commands)
        written = await first
    pending_after = batcher.pending_count
    third = await batcher.flush()

    assert second.joined and second.players == 0 and sent_meanwhile == 1
    assert written.ok and written.players == 1 and pending_after == 2
    assert third.ok and third.players == 2 and len(listener.commands) == 2
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 3}
    assert (await stored(mongo_client, BOB))["movement"] == {"steps": 4}


# -- failures ------------------------------------------------------------------------------


@pytest.mark.usefixtures("players")
async def test_a_failed_flush_keeps_the_increments_and_the_next_writes_them_exactly_once(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 3)
    batcher.queue(BOB, "chat.messagesSent", 1)

    # 91 (ShutdownInProgress) is retryable: times 2 fails the write and the driver's retry.
    async with fail_point(batcher_client, {"times": 2}, errorCode=91, closeConnection=False):
        failed = await batcher.flush()
    unchanged = await stored(mongo_client, ALICE)
    batcher.queue(ALICE, "movement.steps", 2)
    retried = await batcher.flush()

    assert not failed.ok and failed.requeued == 2 and len(listener.commands) == 3
    assert "movement" not in unchanged
    assert retried.ok and retried.players == 2
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 5}
    assert (await stored(mongo_client, BOB))["chat"] == {"messagesSent": 1}
    assert (batcher.flushes, batcher.flush_failures, batcher.pending_count) == (1, 1, 0)


@pytest.mark.usefixtures("players")
async def test_one_retryable_failure_is_absorbed_by_the_driver_and_written_once(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 3)

    async with fail_point(batcher_client, {"times": 1}, errorCode=91, closeConnection=False):
        report = await batcher.flush()

    assert report.ok and len(listener.commands) == 2  # the failed command, then its retry
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 3}


@pytest.mark.usefixtures("players")
async def test_a_failure_mid_batch_keeps_the_unwritten_chunks_only(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher(chunk_size=1)
    for wallet in (ALICE, BOB, CAROL):
        batcher.queue(wallet, "movement.steps", 1)

    async with fail_point(batcher_client, {"skip": 1, "times": 2}, errorCode=TRANSIENT):
        failed = await batcher.flush()
    after_failure = [(await stored(mongo_client, w)).get("movement") for w in (ALICE, BOB, CAROL)]
    retried = await batcher.flush()

    assert failed.requeued == 2 and failed.bulk_writes == 2  # the third chunk was not tried
    assert after_failure == [{"steps": 1}, None, None]
    assert retried.ok and retried.players == 2
    for wallet in (ALICE, BOB, CAROL):
        assert (await stored(mongo_client, wallet))["movement"] == {"steps": 1}


@pytest.mark.usefixtures("players")
async def test_only_the_players_whose_update_failed_are_put_back(
    make_batcher: Callable[..., StatsBatcher], mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    users = mongo_client[TEST_DB]["users"]
    # A real per-document write error: a unique index that Bob's increment would violate.
    await users.create_index("stats.quiz.rank", unique=True, sparse=True, name="test_rank")
    try:
        await users.update_one({"walletAddress": ALICE}, {"$set": {"stats.quiz.rank": 1}})
        await users.update_one({"walletAddress": BOB}, {"$set": {"stats.quiz.rank": 0}})
        batcher = make_batcher()
        batcher.queue(BOB, "quiz.rank", 1)
        batcher.queue(CAROL, "quiz.rank", 9)

        partial = await batcher.flush()
        kept = batcher.pending(BOB)
        await users.update_one({"walletAddress": ALICE}, {"$set": {"stats.quiz.rank": 5}})
        retried = await batcher.flush()
    finally:
        await users.drop_index("test_rank")

    assert partial.requeued == 1 and kept == {"quiz.rank": 1}
    assert retried.ok and retried.players == 1
    assert (await stored(mongo_client, BOB))["quiz"] == {"rank": 1}
    assert (await stored(mongo_client, CAROL))["quiz"] == {"rank": 9}


@pytest.mark.usefixtures("players")
async def test_a_write_concern_error_is_not_retried_because_the_write_was_applied(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 4)

    wce = {"code": 64, "errmsg": "waiting for replication timed out"}
    async with fail_point(batcher_client, {"times": 1}, writeConcernError=wce):
        report = await batcher.flush()
    await batcher.flush()

    assert report.ok and batcher.pending_count == 0
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 4}


@pytest.mark.usefixtures("players")
async def test_a_counter_the_stored_document_cannot_take_is_dropped_and_the_rest_written(
    make_batcher: Callable[..., StatsBatcher],
    mongo_client: AsyncMongoClient[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    users = mongo_client[TEST_DB]["users"]
    await users.update_one({"walletAddress": BOB}, {"$set": {"stats.movement.steps": "many"}})
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 1)
    batcher.queue(BOB, "movement.steps", 1)

    with caplog.at_level(logging.ERROR, logger="clubpengu.services.stats"):
        report = await batcher.flush()

    assert report.ok and report.dropped == 1 and batcher.dropped_counters == 1
    assert batcher.pending_count == 0
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 1}
    assert (await stored(mongo_client, BOB))["movement"] == {"steps": "many"}
    assert "refused by the user document" in caplog.text


@pytest.mark.usefixtures("players")
async def test_increments_for_an_unknown_wallet_are_dropped_with_a_warning(
    make_batcher: Callable[..., StatsBatcher],
    mongo_client: AsyncMongoClient[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps", 1)
    batcher.queue("GuestWallet9999", "movement.steps", 8)
    batcher.queue("GuestWallet9999", "chat.messagesSent", 1)

    with caplog.at_level(logging.WARNING, logger="clubpengu.services.stats"):
        report = await batcher.flush()

    assert report.ok and report.dropped == 2 and batcher.pending_count == 0
    assert await mongo_client[TEST_DB]["users"].count_documents({}) == 3  # no upsert
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 1}
    assert "1 unknown wallets dropped" in caplog.text


# -- the timer and shutdown ----------------------------------------------------------------


@pytest.mark.usefixtures("players")
async def test_the_timer_flushes_every_interval_and_backs_off_after_failures(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    sleep = ManualSleep()
    batcher = make_batcher(flush_interval=30, initial_backoff=1, max_backoff=2, sleep=sleep)
    batcher.start()
    batcher.queue(ALICE, "movement.steps", 1)

    async with fail_point(batcher_client, "alwaysOn", errorCode=TRANSIENT):
        for _ in range(3):
            (await sleep.next_call()).set_result(None)  # three failed flushes
        # The backoff after the third failure: waiting for it inside the fail point makes
        # sure the third flush really ran (and failed) before the database comes back.
        after_third = await sleep.next_call()
        written_while_failing = await stored(mongo_client, ALICE)
    after_third.set_result(None)  # the database is back
    await sleep.next_call()
    await batcher.stop()

    assert sleep.delays == [30, 1, 2, 2, 30]
    assert "movement" not in written_while_failing
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 1}
    assert (batcher.flushes, batcher.flush_failures) == (1, 3)


@pytest.mark.usefixtures("players")
async def test_stop_ends_the_timer_and_flushes_what_is_pending(
    make_batcher: Callable[..., StatsBatcher], mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    sleep = ManualSleep()
    batcher = make_batcher(sleep=sleep)
    batcher.start()
    await sleep.next_call()
    batcher.queue(ALICE, "movement.steps", 2)

    await batcher.stop()

    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 2}
    assert batcher.pending_count == 0 and sleep.delays == [30.0]


@pytest.mark.usefixtures("players")
async def test_stop_gives_up_after_its_attempts_and_logs_what_is_lost(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    listener: UpdateListener,
    caplog: pytest.LogCaptureFixture,
) -> None:
    batcher = make_batcher(stop_attempts=2, sleep=no_sleep)
    batcher.queue(ALICE, "movement.steps", 3)
    batcher.queue(BOB, "movement.steps", 4)

    with caplog.at_level(logging.ERROR, logger="clubpengu.services.stats"):
        async with fail_point(batcher_client, "alwaysOn", errorCode=TRANSIENT):
            await batcher.stop()

    assert len(listener.commands) == 4  # two attempts, each retried once by the driver
    assert "2 counters of 2 players (total 7) will be lost" in caplog.text
    assert batcher.pending(ALICE) == {"movement.steps": 3}


@pytest.mark.usefixtures("players")
async def test_stop_timeout_bounds_the_final_flush(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleep = ManualSleep()  # the backoff between attempts never ends by itself
    batcher = make_batcher(stop_timeout=0.2, sleep=sleep)
    batcher.queue(ALICE, "movement.steps", 3)

    with caplog.at_level(logging.ERROR, logger="clubpengu.services.stats"):
        async with fail_point(batcher_client, "alwaysOn", errorCode=TRANSIENT):
            await batcher.stop()

    assert sleep.delays == [1.0]
    assert "cut off after 0.2 s" in caplog.text and "(total 3) will be lost" in caplog.text


# -- batching off --------------------------------------------------------------------------


@pytest.mark.usefixtures("players")
async def test_with_batching_off_each_increment_is_its_own_write(
    make_batcher: Callable[..., StatsBatcher],
    listener: UpdateListener,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher(batching=False)

    for _ in range(3):
        batcher.queue(ALICE, "movement.steps")
    queued = batcher.pending_count
    await batcher.flush()  # waits for the writes already started

    assert queued == 0
    assert [len(ops) for ops in listener.commands] == [1, 1, 1]
    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 3}


@pytest.mark.usefixtures("players")
async def test_with_batching_off_a_failed_write_is_kept_for_the_next_flush(
    make_batcher: Callable[..., StatsBatcher],
    batcher_client: AsyncMongoClient[dict[str, Any]],
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    batcher = make_batcher(batching=False)

    async with fail_point(batcher_client, {"times": 2}, errorCode=TRANSIENT):
        batcher.queue(ALICE, "movement.steps", 6)
        await batcher.stop()  # waits for the failed write, then flushes it

    assert (await stored(mongo_client, ALICE))["movement"] == {"steps": 6}


# -- what is refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "",
        "stats.movement.steps",
        "economy.totalCoinsEarned",
        "economy",
        "Movement.steps",
        "movement..steps",
        "movement.steps.",
        "movement.$inc",
        "movement_steps",
        "a.b.c.d.e",
        "1st.place",
    ],
)
def test_a_path_outside_the_pattern_or_owned_by_the_ledger_is_refused(
    make_batcher: Callable[..., StatsBatcher], path: str
) -> None:
    batcher = make_batcher()

    with pytest.raises(ValueError):
        batcher.queue(ALICE, path)

    assert batcher.pending_count == 0


@pytest.mark.parametrize(
    "increment", [True, float("nan"), float("inf"), "1", None, 2**63, -(2**63) - 1]
)
def test_an_increment_that_is_not_a_finite_number_is_refused(
    make_batcher: Callable[..., StatsBatcher], increment: Any
) -> None:
    batcher = make_batcher()

    with pytest.raises(ValueError):
        batcher.queue(ALICE, "movement.steps", increment)

    assert batcher.pending_count == 0


def test_floats_negative_numbers_and_int_subclasses_are_accepted(
    make_batcher: Callable[..., StatsBatcher],
) -> None:
    batcher = make_batcher()

    batcher.queue(ALICE, "online.seconds", 1.5)
    batcher.queue(ALICE, "online.seconds", -0.5)
    batcher.queue(ALICE, "movement.steps", logging.INFO)  # an IntEnum-like int subclass

    assert batcher.pending(ALICE) == {"online.seconds": 1.0, "movement.steps": 20}


def test_a_path_nesting_inside_or_around_a_counter_in_use_is_refused(
    make_batcher: Callable[..., StatsBatcher],
) -> None:
    batcher = make_batcher()
    batcher.queue(ALICE, "movement.steps")

    with pytest.raises(ValueError):
        batcher.queue(BOB, "movement")
    with pytest.raises(ValueError):
        batcher.queue(BOB, "movement.steps.left")

    batcher.queue(BOB, "movement.jumps")
    assert batcher.pending(BOB) == {"movement.jumps": 1}


def test_at_most_max_paths_distinct_paths_are_accepted(
    make_batcher: Callable[..., StatsBatcher],
) -> None:
    batcher = make_batcher(max_paths=2)
    batcher.queue(ALICE, "rooms.town")
    batcher.queue(ALICE, "rooms.dock")

    with pytest.raises(ValueError):
        batcher.queue(ALICE, "rooms.plaza")

    batcher.queue(BOB, "rooms.town")
    assert batcher.pending_count == 3


def test_an_empty_wallet_is_refused(make_batcher: Callable[..., StatsBatcher]) -> None:
    with pytest.raises(ValueError):
        make_batcher().queue("", "movement.steps")
