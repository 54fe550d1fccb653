"""A move: the rules check it against the match as this node holds it, and ONE
single-document atomic update writes it; on the embedded database the node's journal
barrier then puts it in the journal before anyone is told.

The update's filter is `{_id, version: v, status: active}`; it `$set`s state, turn and
deadline, `$inc`s version and seq and `$push`es the log entry (the ordered event log is
embedded in the Match and bounded by the game's `max_moves`). No transaction is needed
because everything a move changes is in that one document. A stale write matches
nothing (`Stale`): the service reads the match again and re-applies the move, never
overwrites.
"""

from __future__ import annotations

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


async def write_move(
    matches: AsyncCollection[dict[str, Any]],
    condition: dict[str, Any],
    update: dict[str, Any],
    entry: MatchLogEntry,
    reread: Callable[[str], Awaitable[Match]],
    journal: JournalBarrier | None = None,
) -> None:
    """The move's one write, sent as a plain `update` command rather than a driver
    retryable write: SecantusDB keeps a record per retryable write and every write
    pays for the pile (docs/performance.md#stats-batching), while the version check already makes
    this write safe to retry by hand. A lost reply is settled by reading the match
    (`reread`): our entry at its seq means the write applied; otherwise it is retried
    as stale. Raises Stale.

    Returns once the move is journaled, as every write acknowledged to a player is
    (docs/durability.md). With a `journal` barrier (the embedded database) `matches`
    comes without its own journal wait and the barrier waits instead: SecantusDB flushes
    a `j: true` write while it holds the collection's lock, so one flush per move
    serialized every match's moves behind the disk, where one barrier covers all the
    moves written before it. Without one, the command names the collection's write
    concern (a raw command carries none by itself): MongoDB's `w: majority` journals it.
    """
    command = {
        "update": matches.name,
        "updates": [{"q": condition, "u": update}],
        "writeConcern": matches.write_concern.document,
    }
    try:
        reply = await matches.database.command(command)
    except ConnectionFailure:
        if not logged(await reread(str(condition["_id"])), entry):
            raise Stale() from None
    else:
        if reply.get("writeErrors"):
            raise OperationFailure(str(reply["writeErrors"][0].get("errmsg")), details=reply)
        if reply["n"] == 0:
            raise Stale()
    if journal is not None:
        await journal.wait()


def logged(match: Match, entry: MatchLogEntry) -> bool:
    """Whether `match`'s log holds `entry` (same seq, seat and move) at its place."""
    if len(match.log) < entry.seq:
        return False
    found = match.log[entry.seq - 1]
    return (found.seat, found.move) == (entry.seat, entry.move)
