"""What every minigame's rules provide, the errors a move can raise, and replay.

Rules are pure: a state is a JSON-ready dict stored in `Match.state` as is, and `apply`
returns a new one, so the match service can keep the state, its ordered event log and
`replay(game, seed, log)` equal. Anything random comes from the seed alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from clubpengu.errors import Conflict, Forbidden, InvalidMessage

State = dict[str, Any]
Move = dict[str, Any]

SEATS = (0, 1)


class IllegalMove(InvalidMessage):
    """The move breaks the rules or is malformed; the message is safe to show the player."""

    default_message = "That move is not allowed"


class NotYourTurn(Forbidden):
    default_message = "It is not your turn"


class GameOver(Conflict):
    default_message = "The game is over"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a game ended: `winner` is a seat, or None for a draw."""

    winner: int | None
    reason: str


class Game(Protocol):
    """The rules of one two-seat game. Seat 0 moves first where turns apply.

    `apply` checks, in this order: the game is not over (`GameOver`), the seat may move
    now (`NotYourTurn`), the move is well-formed and legal (`IllegalMove`). A seat other
    than 0 or 1 is the caller's bug and raises ValueError.

    Pick seeds in 0..2**63-1: the match service stores them as BSON int64, and
    `random.Random` deals the same cards for -n as for n.
    """

    id: str
    name: str
    players: int
    # The most moves a game can take before it ends: bounds the match's embedded log.
    max_moves: int
    # The house's coins for a won match and for each seat of a drawn one: defaults that
    # settings may override and daily caps bound.
    reward_win: int
    reward_draw: int

    def new_state(self, seed: int) -> State: ...

    def apply(self, state: State, seat: int, move: Move) -> State: ...

    def outcome(self, state: State) -> Outcome | None: ...

    def to_move(self, state: State) -> int | None: ...

    def seats_to_move(self, state: State) -> tuple[int, ...]:
        """Every seat the game waits for: what a turn timer should watch."""
        ...

    def legal_moves(self, state: State, seat: int) -> list[Move]:
        """Every move `apply` accepts from `seat` now (empty when it may not move)."""
        ...

    def view(self, state: State, seat: int) -> State: ...

    def spectator_view(self, state: State) -> State:
        """What someone watching may see: nothing either seat keeps hidden."""
        ...


def replay(game: Game, seed: int, moves: Iterable[tuple[int, Move]]) -> State:
    """Rebuild a state from its seed and its ordered (seat, move) log.

    The match service compares this with the stored state to prove the log is complete.
    A log the rules refuse raises what the live game would have raised.
    """
    state = game.new_state(seed)
    for seat, move in moves:
        state = game.apply(state, seat, move)
    return state


def check_seat(seat: object) -> int:
    """Seats come from the match service, never the client, so a bad one is a bug."""
    if type(seat) is not int or seat not in SEATS:
        raise ValueError(f"seat must be 0 or 1, not {seat!r}")
    return seat


def stored_outcome(state: State) -> Outcome | None:
    """Read the `result` every game writes into its state when it ends."""
    stored = state["result"]
    if stored is None:
        return None
    return Outcome(winner=stored["winner"], reason=stored["reason"])


def result(winner: int | None, reason: str) -> dict[str, Any]:
    return {"winner": winner, "reason": reason}


def move_value(move: object, key: str) -> object:
    """The one value of a `{key: value}` move; anything else in the frame is refused."""
    if not isinstance(move, dict) or set(move) != {key}:
        raise IllegalMove(f'A move must be {{"{key}": ...}} and nothing else')
    return move[key]


def move_index(move: object, key: str, size: int) -> int:
    """An index 0..size-1. `type() is int` refuses bools, floats and int subclasses."""
    value = move_value(move, key)
    if type(value) is not int or not 0 <= value < size:
        raise IllegalMove(f"{key} must be a whole number from 0 to {size - 1}")
    return value


def start_turn(state: State, seat: int) -> None:
    """The checks every turn-based `apply` makes before reading the move."""
    check_seat(seat)
    if state["result"] is not None:
        raise GameOver()
    if state["turn"] != seat:
        raise NotYourTurn()


def turn_of(state: State) -> int | None:
    """Whose turn it is in a turn-based game; nobody's once it has ended."""
    if state["result"] is not None:
        return None
    turn: int = state["turn"]
    return turn


class AlternatingTurns:
    """The turn bookkeeping of a two-seat game where the seats take turns (`turn` in the
    state, the outcome stored under `result`): shared by the board games."""

    def outcome(self, state: State) -> Outcome | None:
        return stored_outcome(state)

    def to_move(self, state: State) -> int | None:
        return turn_of(state)

    def seats_to_move(self, state: State) -> tuple[int, ...]:
        seat = turn_of(state)
        return () if seat is None else (seat,)
