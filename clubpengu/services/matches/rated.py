"""Which finished matches count: against whom a seat played, and whether a match is rated.

One place for the rule, which stamps and leaderboards read; it follows the match rewards'
(rewards.py `offered`): a match counts when it was played out, not handed over.
"""

from __future__ import annotations

from clubpengu.models import Match, MatchStatus, Opponent
from clubpengu.services.matches.rewards import PAIR_CAP, moves_by

# Ends in which a player gave up rather than lost by the rules (settlement's `given_up`).
GIVEN_UP = frozenset({"forfeit", "timeout", "disconnect", "abandoned"})
COMPUTER = Opponent.COMPUTER.value
PLAYER = Opponent.PLAYER.value


def opponent_kind(match: Match) -> str:
    """`"computer"` for a match against the server's seat, else `"player"`."""
    return COMPUTER if match.opponent == Opponent.COMPUTER else PLAYER


def computer_level(match: Match) -> str | None:
    """The computer's level (`easy`, `normal`, `hard`) in a match against it, else None."""
    return match.computer_level if match.opponent == Opponent.COMPUTER else None


def played_out(match: Match, min_moves: int) -> bool:
    """Finished by the rules: completed, not ended by a forfeit, timeout, disconnect or
    abandonment, and the loser (both players, after a draw) made at least `min_moves`
    moves. What earns match stamps, against a player or the computer."""
    if match.status != MatchStatus.COMPLETED or match.result in GIVEN_UP:
        return False
    winner = match.wallets.index(match.winner_wallet) if match.winner_wallet else None
    seats = (0, 1) if winner is None else (1 - winner,)
    return all(moves_by(match, seat) >= min_moves for seat in seats)


def is_rated(match: Match, min_moves: int) -> bool:
    """Counts toward ratings and leaderboards: played out (above) between two different
    players, no computer seat, and not past the pair's rewarded matches of the day
    (`MATCH_REWARD_PAIR_DAILY`): a match that could pay no reward counts for no rating, so
    two wallets trading wins climb no board."""
    if opponent_kind(match) != PLAYER or len(set(match.wallets)) != 2:
        return False
    if PAIR_CAP in match.reward_reasons:
        return False
    return played_out(match, min_moves)
