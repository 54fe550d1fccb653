"""The computer's seat of the matches this node runs: its moves come from
clubpengu/games/computer, computed off the event loop, and are played through the same
`MatchService.move` as a person's (the same rules, log, version check and settlement).

- `ComputerPool` (computer_pool.py) computes a move in COMPUTER_WORKERS processes of
  their own, off the event loop.
- `ComputerPlayer.wake(match)` starts the computer's move when the match waits for its
  seat, at most one at a time per match. A wake that comes while a move is being played
  (a person's card-jitsu pick landing just after the computer's) is remembered and the
  match read again, so no round is left waiting for the computer.
- `ComputerPlayer.answer(match, budget)`: the computer's move in a match a person's move
  has just advanced (not yet written), if the pool has it within `budget` seconds; the
  match service then writes both moves in one update, acknowledged after one journal
  wait. The same for a match about to start where the computer moves first: its move is
  in the start's insert. Past the budget the person's move is written alone, and the
  move being computed is kept for that match's version: the wake after the write plays it
  rather than asking the pool again.
- The move's randomness is `move_seed(match.seed, seq)`: the same match plays the same
  way, and its log replays like any other. If the computer cannot move (a bug, the pool
  gone at shutdown) it is late, and its turn timer settles the match as its timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from clubpengu.errors import DomainError
from clubpengu.games import get_game
from clubpengu.games.base import Move
from clubpengu.models import COMPUTER_WALLET, Match, MatchStatus
from clubpengu.services.matches.computer_pool import ComputerPool, WorkerGone

logger = logging.getLogger(__name__)


def _retrieved(future: asyncio.Future[Move]) -> None:
    """Mark a failure of a kept move as seen: it is asked again, or no longer wanted."""
    if not future.cancelled():
        future.exception()


def computer_to_move(match: Match) -> bool:
    seat = match.computer_seat
    if seat is None or match.status != MatchStatus.ACTIVE:
        return False
    return seat in get_game(match.game).seats_to_move(match.state)


class ComputerPlayer:
    """`move(wallet, match_id, move)` and `get(match_id)` are the match service's;
    `spawn(work, name)` runs a task the service waits for when it stops."""

    def __init__(
        self,
        pool: ComputerPool,
        move: Callable[[str, str, Move], Awaitable[Match]],
        get: Callable[[str], Awaitable[Match]],
        spawn: Callable[[Coroutine[Any, Any, Any], str], None],
    ) -> None:
        self.pool = pool
        self.move = move
        self.get = get
        self.spawn = spawn
        self.thinking: set[str] = set()
        self.again: set[str] = set()
        # A move `answer` did not have in time, by match: for the match's version it was
        # asked for (the person's move written, the wake plays it).
        self.pending: dict[str, tuple[int, asyncio.Future[Move]]] = {}

    async def answer(self, match: Match, budget: float) -> Move | None:
        """The computer's move in `match` (a person's move applied, not yet written) if
        the pool has it within `budget` seconds; else None, and the move asked for is
        kept for the wake that follows the person's write (`forget` drops it when that
        write failed). None at once when the computer is not to move or is already
        thinking in this match."""
        match_id = str(match.id)
        seat = match.computer_seat
        if budget <= 0 or seat is None or not computer_to_move(match):
            return None
        if match_id in self.thinking or match_id in self.pending:
            return None
        chosen = asyncio.ensure_future(self.pool.choose(match, seat))
        chosen.add_done_callback(_retrieved)
        done, _ = await asyncio.wait([chosen], timeout=budget)
        if not done:
            self.pending[match_id] = (match.version, chosen)
            return None
        if chosen.cancelled() or chosen.exception() is not None:
            return None  # the wake asks again, and logs what fails then
        return chosen.result()

    def forget(self, match_id: str) -> None:
        """Drop the move kept for `match_id` (the person's move it answers was not written)."""
        kept = self.pending.pop(match_id, None)
        if kept is not None:
            kept[1].cancel()

    def wake(self, match: Match) -> None:
        """Start the computer's move if `match` waits for it."""
        if not computer_to_move(match):
            return
        match_id = str(match.id)
        if match_id in self.thinking:
            self.again.add(match_id)
            return
        self.thinking.add(match_id)
        self.spawn(self._play(match), f"computer:{match_id}")

    async def _play(self, match: Match) -> None:
        match_id = str(match.id)
        try:
            while True:
                if computer_to_move(match):
                    seat = match.computer_seat
                    assert seat is not None
                    chosen = await self._kept(match) or await self.pool.choose(match, seat)
                    match = await self.move(COMPUTER_WALLET, match_id, chosen)
                elif match_id in self.again:
                    self.again.discard(match_id)
                    match = await self.get(match_id)
                else:
                    return
        except (DomainError, WorkerGone) as error:
            # The match ended meanwhile (a forfeit, a timeout): nothing to play. Or the node
            # stops (or two workers died in a row): the match's turn timer decides.
            logger.info(
                "computer move not played",
                extra={"match": match_id, "error": type(error).__name__},
            )
        except Exception:
            logger.exception("computer move failed", extra={"match": match_id})
        finally:
            self.thinking.discard(match_id)
            self.again.discard(match_id)
            self.forget(match_id)

    async def _kept(self, match: Match) -> Move | None:
        """The move `answer` asked for at `match`'s version, once the pool has it; None
        when none was kept for this version (or computing it failed)."""
        kept = self.pending.pop(str(match.id), None)
        if kept is None:
            return None
        version, chosen = kept
        if version != match.version:
            chosen.cancel()
            return None
        try:
            return await chosen
        except Exception:
            logger.warning("kept computer move failed; asking again", exc_info=True,
                           extra={"match": str(match.id)})  # fmt: skip
            return None
