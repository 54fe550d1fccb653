"""Which finished matches count: against whom a seat played, and whether a match is rated.

One place for the rule, since stamps and leaderboards read it and the match rewards
follow the same idea: a match counts when it was played out between two players, not
handed over. A match against the computer says so on its document (`opponent:
"computer"`, with its `level`), read here and nowhere else.
"""

from __future__ import annotations

from clubpengu.models import Match, MatchStatus
from clubpengu.services.matches.settlement import moves_by

# Ends in which a player gave up rather than lost by the rules (settlement's `given_up`).
GIVEN_UP = frozenset({"forfeit", "timeout", "disconnect", "abandoned"})
COMPUTER = "computer"
PLAYER = "player"


def opponent_kind(match: Match) -> str:
    """`"computer"` for a match against the server's seat, else `"player"`."""
    return COMPUTER if match.opponent == COMPUTER else PLAYER


def computer_level(match: Match) -> str | None:
    """The computer's level (`easy`, `normal`, `hard`) in a match against it, else None."""
    if opponent_kind(match) != COMPUTER:
        return None
    return match.level


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
    players, no computer seat. A rewardless match is exactly one that fails this, so a
    friend who forfeits at once farms no rating."""
    if opponent_kind(match) != PLAYER or len(set(match.wallets)) != 2:
        return False
    return played_out(match, min_moves)
