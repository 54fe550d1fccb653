"""The computer opponent: a search for the board games, a policy for Card-Jitsu."""

from clubpengu.games.computer.levels import DEFAULT_BUDGETS, Budget, Level, move_seed
from clubpengu.games.computer.opponent import choose_move
from clubpengu.games.computer.search import SearchTooLong

__all__ = ["DEFAULT_BUDGETS", "Budget", "Level", "SearchTooLong", "choose_move", "move_seed"]
