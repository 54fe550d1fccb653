"""A player's finished matches, newest first, as typed records (the transport renders them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from clubpengu.models import Match, MatchStatus

Result = Literal["win", "loss", "draw"]


@dataclass(frozen=True)
class PastMatch:
    """One finished match seen from one player's seat."""

    match_id: str
    game: str
    wager: int
    opponent_wallet: str
    opponent_username: str
    result: Result
    reason: str | None
    reward: int
    computer_level: str | None
    created_at: datetime
    ended_at: datetime | None


def result_for(match: Match, wallet: str) -> Result:
    winner = match.winner_wallet
    return "draw" if winner is None else ("win" if winner == wallet else "loss")


async def finished_matches(wallet: str, limit: int, before: datetime | None) -> list[PastMatch]:
    """At most `limit` of `wallet`'s matches that are over, created before `before`."""
    query: dict[str, Any] = {"wallets": wallet, "status": {"$ne": MatchStatus.ACTIVE.value}}
    if before is not None:
        query["createdAt"] = {"$lt": before}
    found = await Match.find(query).sort("-createdAt").limit(limit).to_list()
    out = []
    for match in found:
        seat = match.wallets.index(wallet)
        other = match.players[1 - seat]
        out.append(
            PastMatch(
                match_id=str(match.id), game=match.game, wager=match.wager,
                opponent_wallet=other.wallet_address, opponent_username=other.username,
                result=result_for(match, wallet), reason=match.result,
                reward=match.rewards[seat] if match.rewards else 0,
                computer_level=match.computer_level,
                created_at=match.created_at, ended_at=match.ended_at,
            )
        )  # fmt: skip
    return out
