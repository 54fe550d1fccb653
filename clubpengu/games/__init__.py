"""Server-authoritative minigame rules: pure functions of a JSON-ready state, no I/O."""

from clubpengu.games.base import Game, GameOver, IllegalMove, NotYourTurn, Outcome, replay
from clubpengu.games.catalog import GAMES, get_game

__all__ = [
    "GAMES",
    "Game",
    "GameOver",
    "IllegalMove",
    "NotYourTurn",
    "Outcome",
    "get_game",
    "replay",
]
