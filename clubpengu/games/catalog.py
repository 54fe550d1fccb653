"""Every game the server runs, by the id challenges and matches store."""

from __future__ import annotations

from clubpengu.errors import NotFound
from clubpengu.games import card_jitsu, connect_four, tictactoe
from clubpengu.games.base import Game

GAMES: dict[str, Game] = {
    game.id: game for game in (tictactoe.GAME, connect_four.GAME, card_jitsu.GAME)
}


def get_game(game_id: str) -> Game:
    """The rules for `game_id`; an unknown id (it comes from a client) is NotFound."""
    game = GAMES.get(game_id)
    if game is None:
        raise NotFound("There is no such game", game=game_id)
    return game
