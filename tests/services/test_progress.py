"""What counts as play (services/progress.py), read from a User document alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clubpengu.models import User
from clubpengu.models.user import EconomyStats, MigrationOutcome, UserStats
from clubpengu.services.progress import bonus_due, has_played, has_progress

NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def _user(**fields: object) -> User:
    return User(wallet_address="w" * 32, username="P", created_at=NOW - timedelta(minutes=5),
                **fields)  # type: ignore[arg-type]  # fmt: skip


def _spent(coins: int) -> UserStats:
    return UserStats(economy=EconomyStats(total_coins_earned=coins, total_coins_spent=coins))


@pytest.mark.parametrize(
    "gifted",
    [
        {"coins": 25, "stats": UserStats(economy=EconomyStats(total_coins_earned=25))},
        {"coins": 80, "unlocked_cosmetics": ["tree_pin"], "inventory": {"puffle_o": 2}},
        {"stamps": ["first_login"]},
    ],
    ids=["daily_bonus", "promo_with_items", "a_stamp"],
)
def test_what_the_server_gives_without_play_is_not_progress(gifted: dict[str, object]) -> None:
    user = _user(**gifted)

    assert not has_played(user) and not has_progress(user)
    assert not bonus_due(user, NOW, DAY)


@pytest.mark.parametrize(
    "played",
    [
        {"stats": _spent(50), "coins": 0},  # a purchase, an adoption, or a wager lost to 0
        {"free_matches": 1},
        {"stats": UserStats.model_validate({"games": {"tictactoe": {"losses": 1}}})},
    ],
    ids=["spent_a_coin", "a_free_match_played", "any_finished_match"],
)
def test_spending_or_finishing_a_match_is_progress_and_earns_the_bonus(
    played: dict[str, object],
) -> None:
    user = _user(**played)

    assert has_played(user) and has_progress(user)
    assert bonus_due(user, NOW, DAY)


def test_a_save_already_brought_is_progress_whatever_became_of_it() -> None:
    held = _user(migration_claim=MigrationOutcome(claim_id="c", status="pending_review"))
    migrated = _user(migrated_at=NOW)

    assert has_progress(held) and has_progress(migrated)
    assert not has_played(held)


def test_the_bonus_is_due_after_a_day_of_history() -> None:
    user = _user()

    assert not bonus_due(user, NOW + DAY - timedelta(minutes=6), DAY)
    assert bonus_due(user, NOW + DAY - timedelta(minutes=5), DAY)
    assert bonus_due(user, NOW, timedelta(0))
