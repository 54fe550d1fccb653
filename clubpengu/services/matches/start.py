"""Starting a match from an accepted challenge: the new Match, the check that neither
player is already playing, and the escrow entries. MatchService.create runs them, with
the challenge's pending→accepted update and the Match insert, in one transaction. A match
against the computer (`computer_match`) has no challenge, no escrow and no transaction
(MatchService._start_alone). Either way the unique index `one_active_match` over the
active matches' people (`Match.playing`) refuses a second active match of one person."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from clubpengu.errors import Conflict
from clubpengu.games.base import Game
from clubpengu.models import COMPUTER_WALLET, Match, MatchPlayer, MatchStatus, Opponent
from clubpengu.services.ledger import LedgerEntry
from clubpengu.services.matches.moves import set_turn
from clubpengu.services.transaction_runner import Session

SEED_LIMIT = 2**63
COMPUTER_NAME = "Computer"


async def usernames(users: AsyncCollection[dict[str, Any]], wallets: list[str]) -> dict[str, str]:
    found = users.find({"walletAddress": {"$in": wallets}}, {"walletAddress": 1, "username": 1})
    return {u["walletAddress"]: u["username"] async for u in found}


def new_match(
    challenge: dict[str, Any], game: Game, names: dict[str, str], now: datetime, turn: float
) -> Match:
    """The Match of `challenge` (a raw pending document), seats drawn at random (who moves
    first) and the game dealt from a fresh secret seed."""
    wallets = [challenge["challengerWallet"], challenge["targetWallet"]]
    secrets.SystemRandom().shuffle(wallets)
    seed = secrets.randbelow(SEED_LIMIT)
    match = Match(
        id=ObjectId(), game=game.id, wallets=wallets, wager=int(challenge["wager"]),
        players=[MatchPlayer(wallet_address=w, username=names.get(w, "?")) for w in wallets],
        state=game.new_state(seed), seed=seed, challenge_id=str(challenge["_id"]),
        room=challenge.get("room"), created_at=now, updated_at=now,
    )  # fmt: skip
    set_turn(match, game, now, turn)
    return match


def computer_match(
    wallet: str, username: str, game: Game, level: str, room: str | None, now: datetime, turn: float
) -> Match:
    """A match of `wallet` against the computer at `level`: seats drawn at random, the
    game dealt from a fresh secret seed (which also seeds the computer's moves)."""
    wallets = [wallet, COMPUTER_WALLET]
    secrets.SystemRandom().shuffle(wallets)
    names = {wallet: username, COMPUTER_WALLET: COMPUTER_NAME}
    seed = secrets.randbelow(SEED_LIMIT)
    match = Match(
        id=ObjectId(), game=game.id, wallets=wallets, wager=0,
        players=[MatchPlayer(wallet_address=w, username=names[w]) for w in wallets],
        state=game.new_state(seed), seed=seed, opponent=Opponent.COMPUTER,
        computer_level=level, room=room, created_at=now, updated_at=now,
    )  # fmt: skip
    set_turn(match, game, now, turn)
    return match


async def claim_players(
    session: Session,
    matches: AsyncCollection[dict[str, Any]],
    users: AsyncCollection[dict[str, Any]],
    wallets: list[str],
    now: datetime,
) -> None:
    """Refuse a start when either player is already in an active match. Both players'
    User documents are written in the transaction too, so two accepts that involve
    one player (two challenges accepted at once) conflict on it: one commits, the
    other is retried and then finds the first match here. That write also counts the
    match on each User (`activeMatches`, taken back by the settlement), so a join looks
    matches up only for a player who has one. Raises Conflict."""
    playing = await matches.find_one(
        {"wallets": {"$in": wallets}, "status": MatchStatus.ACTIVE.value},
        {"wallets": 1},
        session=session,
    )
    if playing is not None:
        raise Conflict("One of the players is already playing a match")
    await users.update_many(
        {"walletAddress": {"$in": wallets}},
        {"$set": {"updatedAt": now, "activeMatchesAt": now}, "$inc": {"activeMatches": 1}},
        session=session,
    )


def escrow_entry(match: Match, wallet: str) -> LedgerEntry:
    """`wallet`'s wager, held by the match until it is settled."""
    return LedgerEntry(
        wallet, -match.wager, "match_escrow", f"match:{match.id}:escrow:{wallet}",
        reason=f"{match.game} wager", proof={"matchId": str(match.id)},
    )  # fmt: skip
