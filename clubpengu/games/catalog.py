"""Every game the server runs, by the id challenges and matches store, and the house's
reward per game (each game's defaults, which settings may override)."""

from __future__ import annotations

from collections.abc import Mapping

from clubpengu.errors import NotFound
from clubpengu.games import card_jitsu, connect_four, tictactoe
from clubpengu.games.base import Game

GAMES: dict[str, Game] = {
    game.id: game for game in (tictactoe.GAME, connect_four.GAME, card_jitsu.GAME)
}
# In an override, the amount for every game not named on its own.
ALL_GAMES = "*"


def get_game(game_id: str) -> Game:
    """The rules for `game_id`; an unknown id (it comes from a client) is NotFound."""
    game = GAMES.get(game_id)
    if game is None:
        raise NotFound("There is no such game", game=game_id)
    return game


def reward_amounts(overrides: Mapping[str, int], default: Mapping[str, int]) -> dict[str, int]:
    """Coins per game id: `overrides` by game, else `overrides[ALL_GAMES]`, else `default`."""
    fallback = overrides.get(ALL_GAMES)
    return {
        game: overrides.get(game, default[game] if fallback is None else fallback) for game in GAMES
    }


def default_wins() -> dict[str, int]:
    return {game.id: game.reward_win for game in GAMES.values()}


def default_draws() -> dict[str, int]:
    return {game.id: game.reward_draw for game in GAMES.values()}
