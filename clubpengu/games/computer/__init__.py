"""The computer opponent: a search for the board games, a policy for Card-Jitsu."""

from clubpengu.games.computer.levels import DEFAULT_BUDGETS, Budget, Level, move_seed
from clubpengu.games.computer.opponent import choose_move

__all__ = ["DEFAULT_BUDGETS", "Budget", "Level", "choose_move", "move_seed"]
