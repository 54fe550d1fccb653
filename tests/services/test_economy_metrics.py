"""The economy's metrics: coins are counted by transaction type once a ledger write has
committed (never for a refused, rolled-back or replayed change), refusals by code."""

from __future__ import annotations

import pytest

from clubpengu.errors import Conflict, InsufficientFunds
from clubpengu.metrics import PrometheusMetrics
from clubpengu.services.economy import EconomyService
from clubpengu.services.transaction_runner import Session
from tests.conftest import TEST_DB
from tests.services.conftest import Client, add_player, fail_point

A = "WalletA" + "a" * 37
B = "WalletB" + "b" * 37


@pytest.fixture
def metrics() -> PrometheusMetrics:
    return PrometheusMetrics("node-test")


@pytest.fixture
def economy(mongo_client: Client, metrics: PrometheusMetrics) -> EconomyService:
    return EconomyService(mongo_client, TEST_DB, metrics=metrics)


def coins(metrics: PrometheusMetrics, type_: str) -> float:
    return metrics.registry.get_sample_value("clubpengu_coins_total", {"type": type_}) or 0.0


def errors(metrics: PrometheusMetrics, code: str) -> float:
    labels = {"code": code}
    return metrics.registry.get_sample_value("clubpengu_economy_errors_total", labels) or 0.0


async def test_committed_changes_count_their_absolute_amounts_by_type(
    economy: EconomyService, metrics: PrometheusMetrics
) -> None:
    await add_player(economy, A, 100)
    await add_player(economy, B)

    await economy.apply(A, -30, "purchase", idempotency_key="buy")
    await economy.transfer(A, B, 20, "gift", idempotency_key="gift")

    assert coins(metrics, "grant") == 100
    assert coins(metrics, "purchase") == 30
    assert coins(metrics, "gift") == 40  # the debit and the credit


async def test_a_refused_debit_counts_an_error_and_no_coins(
    economy: EconomyService, metrics: PrometheusMetrics
) -> None:
    await add_player(economy, A, 10)

    with pytest.raises(InsufficientFunds):
        await economy.apply(A, -30, "purchase", idempotency_key="too-dear")

    assert coins(metrics, "purchase") == 0
    assert errors(metrics, "insufficient_funds") == 1


async def test_a_change_rolled_back_after_its_ledger_write_counts_no_coins(
    economy: EconomyService, metrics: PrometheusMetrics
) -> None:
    await add_player(economy, A, 100)

    async def refuse(session: Session) -> None:
        raise Conflict("the item is gone")

    with pytest.raises(Conflict):
        await economy.apply(A, -30, "purchase", idempotency_key="gone", extra_writes=refuse)

    assert coins(metrics, "purchase") == 0
    assert errors(metrics, "conflict") == 1


async def test_a_replayed_key_and_a_retried_transaction_count_once(
    economy: EconomyService, metrics: PrometheusMetrics, mongo_client: Client
) -> None:
    await add_player(economy, A, 100)
    transient = {"errorCode": 112, "errorLabels": ["TransientTransactionError"]}

    async with fail_point(mongo_client, {"times": 1}, failCommands=["commitTransaction"],
                          **transient):  # fmt: skip
        await economy.apply(A, -30, "purchase", idempotency_key="once")
    replayed = await economy.apply(A, -30, "purchase", idempotency_key="once")

    assert replayed.replayed
    assert coins(metrics, "purchase") == 30
