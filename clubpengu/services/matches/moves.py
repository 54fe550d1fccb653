"""A move: the rules check it against the match as this node holds it, and ONE
single-document atomic update writes it; on the embedded database the node's journal
barrier then puts it in the journal before anyone is told.

The update's filter is `{_id, version: v, status: active}`; it `$set`s state, turn and
deadline, `$inc`s version and seq and `$push`es the log entry (the ordered event log is
embedded in the Match and bounded by the game's `max_moves`). No transaction is needed
because everything a move changes is in that one document. A stale write matches
nothing (`Stale`): the service reads the match again and re-applies the move, never
overwrites. The moves of different matches written at the same time go as the statements
of one `update` command (`MoveWriter`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ConnectionFailure, OperationFailure

from clubpengu.db import JournalBarrier
from clubpengu.errors import Forbidden
from clubpengu.games import GameOver, Outcome, get_game
from clubpengu.games.base import Game
from clubpengu.models import Match, MatchLogEntry, MatchStatus
from clubpengu.services.group_writer import GroupWriter

# At most this many moves in one `update` command (a group waits behind one in flight).
MOVES_PER_COMMAND = 100


class Stale(Exception):
    """The Match changed since it was read; read it again."""


@dataclass(frozen=True)
class Advanced:
    """A move the rules accepted: the match after it (not yet written), its log entry,
    the mover's seat, and the outcome when the move ends the game."""

    match: Match
    entry: MatchLogEntry
    seat: int
    outcome: Outcome | None


def set_turn(match: Match, game: Game, now: datetime, turn_seconds: float) -> None:
    """Whose turn it is (None when both seats move at once) and until when."""
    waiting = game.seats_to_move(match.state)
    match.turn = match.wallets[waiting[0]] if len(waiting) == 1 else None
    match.turn_deadline = now + timedelta(seconds=turn_seconds) if waiting else None


def advance(
    current: Match, wallet: str, move: dict[str, Any], now: datetime, turn_seconds: float
) -> Advanced:
    """`wallet`'s move applied to `current` by the game's rules (`current` itself is left
    as it was). Raises Forbidden (not a player), GameOver, NotYourTurn, IllegalMove."""
    if wallet not in current.wallets:
        raise Forbidden("You are not playing in this match")
    game = get_game(current.game)
    if current.status != MatchStatus.ACTIVE or current.seq >= game.max_moves:
        raise GameOver("The match is over")
    seat = current.wallets.index(wallet)
    state = game.apply(current.state, seat, move)
    entry = MatchLogEntry(seq=current.seq + 1, seat=seat, wallet_address=wallet, move=move, at=now)
    match: Match = current.model_copy(update={
        "state": state, "log": [*current.log, entry], "version": current.version + 1,
        "seq": current.seq + 1, "updated_at": now,
    })  # fmt: skip
    set_turn(match, game, now, turn_seconds)
    return Advanced(match, entry, seat, game.outcome(state))


def move_update(match: Match, entry: MatchLogEntry) -> dict[str, Any]:
    """The one atomic update of an accepted move (`match` is the state after it)."""
    return {
        "$set": {
            "state": match.state, "turn": match.turn, "turnDeadline": match.turn_deadline,
            "updatedAt": match.updated_at,
        },
        "$inc": {"version": 1, "seq": 1},
        "$push": {"log": entry.model_dump(by_alias=True)},
    }  # fmt: skip


def moves_update(match: Match, entries: list[MatchLogEntry]) -> dict[str, Any]:
    """The one atomic update of several accepted moves in a row (a person's and the
    computer's answer): `match` is the state after the last."""
    update = move_update(match, entries[-1])
    update["$inc"] = {"version": len(entries), "seq": len(entries)}
    update["$push"] = {"log": {"$each": [entry.model_dump(by_alias=True) for entry in entries]}}
    return update


@dataclass
class MoveWrite:
    """One move's update, as `MoveWriter` sends it; `applied` and `error` are its outcome."""

    condition: dict[str, Any]
    update: dict[str, Any]
    entry: MatchLogEntry
    applied: bool = False
    error: Exception | None = None

    def statement(self) -> dict[str, Any]:
        return {"q": self.condition, "u": self.update}


class MoveWriter:
    """Writes the moves of this node's matches, each conditional on its match's version.

    Group commit (services/group_writer.py): a move that comes while no write is in flight
    is sent at once, alone; the moves that come meanwhile are sent together when it
    returns, as one `update` command of one statement each (`ordered: false`, so a stale
    one stops nothing after it). On the embedded database a command's fixed cost (driver,
    wire, SecantusDB's dispatch, a storage transaction) and its thread's turn at the GIL
    are then paid once for the group: under 200 matches against the computer beside 1,000
    walkers, a hundred moves in flight had been a hundred threads in the database taking
    turns (docs/performance.md#moves-written-together). An idle node adds no wait.

    A command is sent as a plain `update`, not a driver retryable write: SecantusDB keeps
    a record per retryable write and every write pays for the pile
    (docs/performance.md#stats-batching), while the version check already makes each
    statement safe to retry by hand. The reply's `n` counts the statements that matched
    (each matches one match at most): all of them, none, or, rarely, some, when the
    moves whose match changed meanwhile are told apart by reading their matches
    (`reread`): our entry at its seq means the write applied, otherwise it is stale. A
    lost reply (ConnectionFailure) is settled the same way for every move of the command.

    `write` returns once the move is journaled, as every write acknowledged to a player is
    (docs/durability.md). With a `journal` barrier (the embedded database) `matches` comes
    without its own journal wait and the barrier waits instead: SecantusDB flushes a
    `j: true` write while it holds the collection's lock, where one barrier covers all
    the moves written before it. Without one, the command names the collection's write
    concern (a raw command carries none by itself): MongoDB's `w: majority` journals it.
    """

    def __init__(
        self,
        matches: AsyncCollection[dict[str, Any]],
        reread: Callable[[str], Awaitable[Match]],
        journal: JournalBarrier | None = None,
        max_group: int = MOVES_PER_COMMAND,
    ) -> None:
        self.matches = matches
        self.reread = reread
        self.journal = journal
        self.group: GroupWriter[MoveWrite] = GroupWriter(
            self._write, name="match-moves", max_group=max_group
        )

    async def write(
        self, condition: dict[str, Any], update: dict[str, Any], entry: MatchLogEntry
    ) -> None:
        """Write one move (`condition` names the match's `_id` and version). Raises Stale
        (the match changed since it was read), OperationFailure, or what the command or
        the read that settles a lost reply raised."""
        move = MoveWrite(condition, update, entry)
        await self.group.submit(move)
        if move.error is not None:
            raise move.error
        if not move.applied:
            raise Stale()
        if self.journal is not None:
            await self.journal.wait()

    async def _write(self, moves: list[MoveWrite]) -> None:
        command = {
            "update": self.matches.name,
            "updates": [move.statement() for move in moves],
            "ordered": False,
            "writeConcern": self.matches.write_concern.document,
        }
        try:
            reply = await self.matches.database.command(command)
        except ConnectionFailure:
            await self._settle(moves)
            return
        errors = {error.get("index"): error for error in reply.get("writeErrors", ())}
        written = []
        for index, move in enumerate(moves):
            error = errors.get(index)
            if error is None:
                written.append(move)
            else:
                move.error = OperationFailure(str(error.get("errmsg")), error.get("code"), reply)
        if reply["n"] == len(written):
            for move in written:
                move.applied = True
        elif reply["n"] > 0:
            await self._settle(written)

    async def _settle(self, moves: list[MoveWrite]) -> None:
        """Whether each of `moves` applied, by reading its match."""
        found = await asyncio.gather(
            *(self.reread(str(move.condition["_id"])) for move in moves), return_exceptions=True
        )
        for move, match in zip(moves, found, strict=True):
            if isinstance(match, Match):
                move.applied = logged(match, move.entry)
            else:
                move.error = match if isinstance(match, Exception) else RuntimeError(str(match))


def logged(match: Match, entry: MatchLogEntry) -> bool:
    """Whether `match`'s log holds `entry` (same seq, seat and move) at its place."""
    if len(match.log) < entry.seq:
        return False
    found = match.log[entry.seq - 1]
    return (found.seat, found.move) == (entry.seat, entry.move)
