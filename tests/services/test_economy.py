"""The coin ledger against the real database, with real transactions and fail points."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure, PyMongoError, ServerSelectionTimeoutError
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from clubpengu.db import EmbeddedDatabase, free_port
from clubpengu.errors import Conflict, InsufficientFunds, InvalidMessage, NotFound, Unavailable
from clubpengu.services.economy import EconomyService
from clubpengu.services.transaction_runner import RetryPolicy
from tests.conftest import TEST_DB
from tests.services.conftest import (
    Client,
    Pushes,
    add_player,
    entries,
    fail_point,
    user_doc,
)

A = "WalletA" + "a" * 37
B = "WalletB" + "b" * 37


async def test_a_credit_raises_the_balance_and_writes_one_entry(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A)

    result = await economy.apply(
        A, 40, "grant", idempotency_key="k1", actor="admin:x", reason="welcome", proof={"n": 1}
    )

    assert (result.balance, result.delta, result.replayed) == (40, 40, False)
    user = await user_doc(mongo_client, A)
    assert user["coins"] == 40
    assert user["stats"]["economy"] == {"totalCoinsEarned": 40, "totalCoinsSpent": 0}
    [entry] = await entries(mongo_client, A)
    assert str(entry["_id"]) == result.transaction_id
    assert entry["amount"] == 40 and entry["balanceAfter"] == 40
    assert (entry["type"], entry["reason"], entry["actor"]) == ("grant", "welcome", "admin:x")
    assert entry["proof"] == {"n": 1} and entry["idempotencyKey"] == "k1"


async def test_a_debit_counts_as_spent(economy: EconomyService, mongo_client: Client) -> None:
    await add_player(economy, A, 50)

    result = await economy.apply(A, -20, "purchase", idempotency_key="buy")

    assert result.balance == 30
    user = await user_doc(mongo_client, A)
    assert user["stats"]["economy"] == {"totalCoinsEarned": 50, "totalCoinsSpent": 20}


async def test_a_debit_below_zero_is_refused_and_changes_nothing(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 10)

    with pytest.raises(InsufficientFunds) as error:
        await economy.apply(A, -11, "purchase", idempotency_key="too-much")

    assert error.value.data == {"balance": 10, "needed": 11}
    assert (await user_doc(mongo_client, A))["coins"] == 10
    assert len(await entries(mongo_client, A)) == 1


async def test_an_unknown_wallet_is_not_found(
    economy: EconomyService, mongo_client: Client
) -> None:
    with pytest.raises(NotFound):
        await economy.apply("nobody", 5, "grant", idempotency_key="k")

    assert await entries(mongo_client) == []


@pytest.mark.parametrize("amount", [0, True, 1.5, "5", 10**9 + 1, -(10**9) - 1, None])
async def test_an_amount_that_is_not_a_bounded_nonzero_int_is_refused(
    economy: EconomyService, mongo_client: Client, amount: Any
) -> None:
    await add_player(economy, A, 10)

    with pytest.raises(InvalidMessage):
        await economy.apply(A, amount, "grant", idempotency_key="k")

    assert (await user_doc(mongo_client, A))["coins"] == 10


async def test_the_same_key_five_times_in_a_row_applies_once(
    economy: EconomyService, mongo_client: Client, pushes: Pushes
) -> None:
    await add_player(economy, A, 100)
    pushes.clear()

    results = [await economy.apply(A, -30, "purchase", idempotency_key="once") for _ in range(5)]

    assert [r.replayed for r in results] == [False, True, True, True, True]
    assert {(r.balance, r.delta, r.transaction_id) for r in results} == {
        (70, -30, results[0].transaction_id)
    }
    assert (await user_doc(mongo_client, A))["coins"] == 70
    assert len(await entries(mongo_client, A)) == 2
    assert len(pushes) == 1


async def test_the_same_key_five_times_at_once_applies_once(
    economy: EconomyService, mongo_client: Client, pushes: Pushes
) -> None:
    await add_player(economy, A, 100)
    pushes.clear()

    results = await asyncio.gather(
        *(economy.apply(A, -30, "purchase", idempotency_key="race") for _ in range(5))
    )

    assert sorted(r.replayed for r in results) == [False, True, True, True, True]
    assert {(r.balance, r.transaction_id) for r in results} == {(70, results[0].transaction_id)}
    assert (await user_doc(mongo_client, A))["coins"] == 70
    assert len(await entries(mongo_client, A)) == 2
    assert len(pushes) == 1


async def test_a_key_reused_for_a_different_change_is_a_conflict(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 100)
    await add_player(economy, B)
    await economy.apply(A, -30, "purchase", idempotency_key="k")

    with pytest.raises(Conflict):
        await economy.apply(A, -31, "purchase", idempotency_key="k")
    with pytest.raises(Conflict):
        await economy.apply(B, 30, "grant", idempotency_key="k")

    assert (await user_doc(mongo_client, A))["coins"] == 70
    assert (await user_doc(mongo_client, B))["coins"] == 0


async def test_after_a_commit_the_wallet_is_sent_its_new_balance(
    economy: EconomyService, pushes: Pushes
) -> None:
    await add_player(economy, A)

    await economy.apply(A, 25, "daily_bonus", idempotency_key="d")

    assert pushes == [(A, {"type": "coins", "coins": 25, "delta": 25, "reason": "daily_bonus"})]


async def test_a_failing_notification_does_not_undo_the_change(mongo_client: Client) -> None:
    def broken(wallet: str, notice: object) -> None:
        raise RuntimeError("socket gone")

    economy = EconomyService(mongo_client, TEST_DB, notify=broken)
    await add_player(economy, A, 10)

    result = await economy.apply(A, 5, "grant", idempotency_key="k")

    assert result.balance == 15
    assert (await user_doc(mongo_client, A))["coins"] == 15


# --- failures injected between the balance update and the ledger insert -------------------


async def test_a_failed_entry_insert_rolls_back_the_balance_update(
    economy: EconomyService, mongo_client: Client, pushes: Pushes
) -> None:
    await add_player(economy, A, 100)
    pushes.clear()

    with pytest.raises(OperationFailure) as error:
        async with fail_point(mongo_client, {"times": 1}, failCommands=["insert"], errorCode=8):
            await economy.apply(A, -30, "purchase", idempotency_key="doomed")

    assert error.value.code == 8
    assert (await user_doc(mongo_client, A))["coins"] == 100
    assert len(await entries(mongo_client, A)) == 1
    assert pushes == []
    # and the key is still free: the same request now succeeds
    assert (await economy.apply(A, -30, "purchase", idempotency_key="doomed")).balance == 70


@pytest.mark.parametrize(
    "failure",
    [
        {"errorCode": 8, "errorLabels": ["TransientTransactionError"]},
        {"errorCode": 112},  # WriteConflict: the server labels it transient
        {"errorCode": 11600},  # InterruptedAtShutdown: the driver labels it transient
    ],
    ids=["labelled-transient", "write-conflict", "shutdown"],
)
async def test_a_transient_failure_of_the_entry_insert_is_retried(
    quick_client: Client, mongo_client: Client, failure: dict[str, Any]
) -> None:
    economy = EconomyService(quick_client, TEST_DB)
    await add_player(economy, A, 100)

    async with fail_point(mongo_client, {"times": 2}, failCommands=["insert"], **failure):
        result = await economy.apply(A, -30, "purchase", idempotency_key="retried")

    assert (result.balance, result.replayed) == (70, False)
    assert (await user_doc(mongo_client, A))["coins"] == 70
    assert [e["amount"] for e in await entries(mongo_client, A)] == [100, -30]


@pytest.mark.parametrize("code", [64, 91], ids=["write-concern-failed", "shutting-down"])
async def test_an_unknown_commit_result_retries_the_commit_and_applies_once(
    quick_client: Client, mongo_client: Client, code: int
) -> None:
    economy = EconomyService(quick_client, TEST_DB)
    await add_player(economy, A, 100)

    async with fail_point(
        mongo_client,
        {"times": 1},
        failCommands=["commitTransaction"],
        errorCode=code,
        errorLabels=["UnknownTransactionCommitResult"],
    ):
        result = await economy.apply(A, -30, "purchase", idempotency_key="commit")

    assert result.balance == 70
    assert (await user_doc(mongo_client, A))["coins"] == 70
    assert len(await entries(mongo_client, A)) == 2


async def test_when_transient_failures_persist_it_gives_up_unavailable_and_unchanged(
    mongo_client: Client,
) -> None:
    economy = EconomyService(mongo_client, TEST_DB, retry=RetryPolicy(max_attempts=3))
    await add_player(economy, A, 100)

    with pytest.raises(Unavailable) as error:
        async with fail_point(
            mongo_client, "alwaysOn", failCommands=["insert"], errorCode=8,
            errorLabels=["TransientTransactionError"],
        ):  # fmt: skip
            await economy.apply(A, -30, "purchase", idempotency_key="never")

    assert error.value.data == {"attempts": 3}
    assert isinstance(error.value.__cause__, PyMongoError)
    assert (await user_doc(mongo_client, A))["coins"] == 100


@pytest.fixture
def cut_connections() -> Iterator[None]:
    """For tests whose database vanishes under an async client: pymongo does not close a
    socket whose connect is cancelled, and the errors it keeps (with their tracebacks)
    hold such sockets in reference cycles. Collect them when the test is over, quietly;
    otherwise the collector finalizes them during some later test, whose ResourceWarning
    then fails it."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def test_with_no_database_to_select_it_gives_up_after_one_wait(cut_connections: None) -> None:
    """The driver already waited the whole server-selection timeout for a usable database:
    retrying would keep a player waiting the retry deadline (10 s) for the same answer."""
    nowhere: Client = AsyncMongoClient(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        serverSelectionTimeoutMS=100,
    )
    economy = EconomyService(nowhere, TEST_DB)

    with pytest.raises(Unavailable) as error:
        await economy.apply(A, 30, "admin_adjustment", idempotency_key="no-database")
    await nowhere.close()

    assert error.value.data == {"attempts": 1}
    assert isinstance(error.value.__cause__, ServerSelectionTimeoutError)


class _CommandWatch(CommandListener):
    """Sets `seen` when a command named `name` is sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen = asyncio.Event()

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name == self.name:
            self.seen.set()

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


async def test_a_commit_cut_off_by_the_database_dying_gives_up_after_one_wait(
    tmp_path: Path, cut_connections: None
) -> None:
    """The commit's connection drops and the driver's retry of the commit finds no server:
    the answer is `unavailable` ("not known yet"), after one server-selection wait, not
    after retrying the commit until the 10 s deadline."""
    database = EmbeddedDatabase(tmp_path, extra_args=["--enable-test-commands"])
    watch = _CommandWatch("commitTransaction")
    client: Client = AsyncMongoClient(
        database.start(), serverSelectionTimeoutMS=200, event_listeners=[watch]
    )
    await client[TEST_DB].users.insert_one({"walletAddress": A, "coins": 0})
    await client.admin.command(
        {"configureFailPoint": "failCommand", "mode": {"times": 1},
         "data": {"failCommands": ["commitTransaction"], "blockConnection": True,
                  "blockTimeMS": 10_000}}
    )  # fmt: skip
    economy = EconomyService(client, TEST_DB)

    applying = asyncio.create_task(economy.apply(A, 30, "admin_adjustment", idempotency_key="k"))
    await watch.seen.wait()
    assert database.process is not None
    database.process.kill()  # the commit is held at the database: it never applies
    database.process.wait()
    with pytest.raises(Unavailable) as error:
        await applying
    await client.close()
    database.stop()

    assert error.value.data == {"attempts": 1}
    assert "not known" in error.value.message


async def test_a_transaction_cut_off_by_the_database_dying_waits_for_a_server_once(
    tmp_path: Path, cut_connections: None
) -> None:
    """The ledger's balance update is in flight when the database dies: the abort of the
    cut transaction does not wait a whole server-selection timeout for a server before
    the retry waits another; the answer is `unavailable` after about one wait."""
    selection = 3.0
    database = EmbeddedDatabase(tmp_path, extra_args=["--enable-test-commands"])
    watch = _CommandWatch("update")  # the balance's update, the transaction's first write
    client: Client = AsyncMongoClient(
        database.start(), serverSelectionTimeoutMS=int(selection * 1000), event_listeners=[watch]
    )
    await client[TEST_DB].users.insert_one({"walletAddress": A, "coins": 0})
    await client.admin.command(
        {"configureFailPoint": "failCommand", "mode": {"times": 1},
         "data": {"failCommands": ["update"], "blockConnection": True,
                  "blockTimeMS": 10_000}}
    )  # fmt: skip
    economy = EconomyService(client, TEST_DB)

    applying = asyncio.create_task(economy.apply(A, 30, "admin_adjustment", idempotency_key="k"))
    await watch.seen.wait()
    assert database.process is not None
    database.process.kill()
    database.process.wait()
    killed = time.monotonic()
    with pytest.raises(Unavailable):
        await applying
    waited = time.monotonic() - killed
    await client.close()
    database.stop()

    # Two waits would be 2 * selection at least; one and the capped abort about 4 s.
    assert waited < 1.75 * selection


# --- transfers ----------------------------------------------------------------------------


async def test_a_transfer_writes_two_linked_entries_in_one_transaction(
    economy: EconomyService, mongo_client: Client, pushes: Pushes
) -> None:
    await add_player(economy, A, 100)
    await add_player(economy, B, 5)
    pushes.clear()

    result = await economy.transfer(A, B, 40, "wager", idempotency_key="match1", actor="match:1")

    assert (result.from_balance, result.to_balance, result.amount) == (60, 45, 40)
    [_, debit] = await entries(mongo_client, A)
    [_, credit] = await entries(mongo_client, B)
    assert (debit["amount"], debit["counterpartyWallet"], debit["idempotencyKey"]) == (
        -40, B, "match1:debit",
    )  # fmt: skip
    assert (credit["amount"], credit["counterpartyWallet"], credit["idempotencyKey"]) == (
        40, A, "match1:credit",
    )  # fmt: skip
    assert debit["transferId"] == credit["transferId"] == result.transfer_id
    assert [wallet for wallet, _ in pushes] == [A, B]


async def test_a_transfer_the_payer_cannot_afford_changes_neither_wallet(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 10)
    await add_player(economy, B, 5)

    with pytest.raises(InsufficientFunds):
        await economy.transfer(A, B, 11, "wager", idempotency_key="m")

    assert (await user_doc(mongo_client, A))["coins"] == 10
    assert (await user_doc(mongo_client, B))["coins"] == 5
    assert len(await entries(mongo_client)) == 2


async def test_a_transfer_to_a_missing_wallet_changes_nothing(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 10)

    with pytest.raises(NotFound):
        await economy.transfer(A, "nobody", 5, "wager", idempotency_key="m")

    assert (await user_doc(mongo_client, A))["coins"] == 10


async def test_a_repeated_transfer_is_replayed(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 100)
    await add_player(economy, B)

    first = await economy.transfer(A, B, 40, "wager", idempotency_key="m")
    again = await asyncio.gather(
        *(economy.transfer(A, B, 40, "wager", idempotency_key="m") for _ in range(3))
    )

    assert all(r.replayed for r in again)
    assert {r.transfer_id for r in again} == {first.transfer_id}
    assert (await user_doc(mongo_client, A))["coins"] == 60
    assert len(await entries(mongo_client)) == 3


@pytest.mark.parametrize(("to", "amount"), [(A, 5), (B, -5), (B, 0)])
async def test_a_transfer_to_self_or_of_a_non_positive_amount_is_refused(
    economy: EconomyService, to: str, amount: int
) -> None:
    await add_player(economy, A, 10)
    await add_player(economy, B)

    with pytest.raises(InvalidMessage):
        await economy.transfer(A, to, amount, "wager", idempotency_key="m")


# --- daily bonus --------------------------------------------------------------------------


async def test_the_daily_bonus_is_paid_once_per_day(mongo_client: Client) -> None:
    economy = EconomyService(mongo_client, TEST_DB, daily_bonus_coins=25)
    await add_player(economy, A)
    day = date(2026, 1, 2)

    first = await economy.daily_bonus(A, day)
    second = await economy.daily_bonus(A, day)
    concurrent = await asyncio.gather(*(economy.daily_bonus(A, day) for _ in range(5)))
    next_day = await economy.daily_bonus(A, date(2026, 1, 3))

    assert (first.balance, first.replayed, second.replayed) == (25, False, True)
    assert all(r.replayed for r in concurrent)
    assert next_day.balance == 50
    keys = [e["idempotencyKey"] for e in await entries(mongo_client, A)]
    assert keys == [f"daily:{A}:2026-01-02", f"daily:{A}:2026-01-03"]


async def test_the_daily_bonus_keeps_the_latest_day_paid_on_the_user(mongo_client: Client) -> None:
    economy = EconomyService(mongo_client, TEST_DB, daily_bonus_coins=25)
    await add_player(economy, A)
    users = mongo_client[TEST_DB]["users"]

    await economy.daily_bonus(A, date(2026, 1, 3))
    after_first = (await users.find_one({"walletAddress": A}) or {}).get("dailyBonusOn")
    await economy.daily_bonus(A, date(2026, 1, 2))  # an earlier day, paid late
    after_late = (await users.find_one({"walletAddress": A}) or {}).get("dailyBonusOn")

    assert (after_first, after_late) == ("2026-01-03", "2026-01-03")
    assert await economy.balance(A) == 50


async def test_a_bonus_said_unpaid_that_was_paid_is_refused_by_its_key_and_replayed(
    mongo_client: Client,
) -> None:
    economy = EconomyService(mongo_client, TEST_DB, daily_bonus_coins=25)
    await add_player(economy, A)
    day = date(2026, 1, 2)

    first = await economy.daily_bonus(A, day, unpaid=True)
    again = await economy.daily_bonus(A, day, unpaid=True)
    concurrent = await asyncio.gather(*(economy.daily_bonus(A, day, unpaid=True) for _ in range(5)))

    assert (first.replayed, again.replayed, again.balance) == (False, True, 25)
    assert all(r.replayed and r.balance == 25 for r in concurrent)
    assert len(await entries(mongo_client, A)) == 1
    assert await economy.balance(A) == 25


async def test_the_daily_bonus_day_comes_from_the_clock(mongo_client: Client) -> None:
    from datetime import UTC, datetime

    economy = EconomyService(
        mongo_client, TEST_DB, clock=lambda: datetime(2026, 3, 4, 23, 59, tzinfo=UTC)
    )
    await add_player(economy, A)

    await economy.daily_bonus(A)

    [entry] = await entries(mongo_client, A)
    assert entry["idempotencyKey"] == f"daily:{A}:2026-03-04"
    assert entry["type"] == "daily_bonus" and entry["amount"] == 25


async def test_a_transfer_is_one_economy_log_line_with_both_entries(
    economy: EconomyService, caplog: pytest.LogCaptureFixture
) -> None:
    await add_player(economy, A, 100)
    await add_player(economy, B, 5)

    with caplog.at_level(logging.INFO, logger="clubpengu.services.economy_log"):
        result = await economy.transfer(A, B, 40, "wager", idempotency_key="t1", actor="match:1")
        await economy.transfer(A, B, 40, "wager", idempotency_key="t1", actor="match:1")

    [line] = [r for r in caplog.records if r.getMessage() == "economy"]
    assert (line.type, line.actor, line.transfer) == ("wager", "match:1", result.transfer_id)
    assert line.entries == [
        {"wallet": "Wall…aaaa", "amount": -40, "balance": 60, "tx": result.debit_id},
        {"wallet": "Wall…bbbb", "amount": 40, "balance": 45, "tx": result.credit_id},
    ]
