"""StampService: stamps awarded by what the server saw a wallet do, each once.

- **Once per wallet, on any number of nodes.** A stamp is added by one conditional update
  of the User, `{walletAddress, stamps: {$ne: id}}` → `$push`, so of two nodes seeing the
  same event at once exactly one modifies the document; only that one tells the player
  (`StampEarned`) and pays. A stamp with a coin reward is added in the same transaction
  as its ledger entry (type `stamp_reward`, key `stamp:<wallet>:<id>`): there is no
  stamp without its coins, nor coins twice.
- **When, in the same write.** That update also sets `stampsEarnedAt.<id>`, the time the
  profile shows (`user.stampsEarnedAt`): no command of its own.
- **Progress without a write per event.** The catalogue's triggers say what to count
  (progression/triggers.py). Counts that other fields already keep are read from them:
  wins, losses and draws per game from `stats.games` (written by every settlement; a
  match stamp is looked at only after a match played out, not one handed over), chat
  lines from `stats.social.chats` (the stats batcher's, see stamp_sessions.py). A trigger
  of count 1 needs no count: the event is enough. What nothing else counts (puffle care,
  match counts against the computer) is `$inc`ed in `stampProgress.<key>` only while a
  stamp of that key is still to earn.
- **One read for the matches that end together.** A finished match's stamps need its
  players' stamps and match counts: the reads of matches ending while one is in flight
  are made as one `find` (services/group_writer.py), as the aftermath's marks are
  cleared: under load the database's commands per match bound the matches a node plays.
- **Never in the way.** Services report events with `report(wallet, event)`, which returns
  at once and records in the background: a failed award is logged and never fails the
  purchase, adoption or match that earned it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from clubpengu.background import Spawn
from clubpengu.models import COMPUTER_WALLET, Match, User
from clubpengu.models.base import utcnow
from clubpengu.progression.stamps import Stamp, StampCatalog
from clubpengu.progression.triggers import ProgressValue, StampEvent, Universe
from clubpengu.services.economy import EconomyService
from clubpengu.services.economy_log import log_economy
from clubpengu.services.group_writer import GroupWriter
from clubpengu.services.ledger import (
    LedgerEntry,
    LedgerResult,
    is_idempotency_clash,
    short_wallet,
)
from clubpengu.services.matches.rated import computer_level, opponent_kind, played_out
from clubpengu.services.notices import CoinsChanged, Notify, StampEarned
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)
STAMP_REWARD = "stamp_reward"
PROGRESS = "stampProgress"
EARNED_AT = "stampsEarnedAt"


def match_events(match: Match, seat: int) -> list[StampEvent]:
    """What a finished match means for seat `seat`: played, and won or drawn."""
    fields = {
        "game": match.game,
        "opponent": opponent_kind(match),
        "level": computer_level(match),
    }
    events = [StampEvent("match_played", **fields)]
    if match.winner_wallet is None:
        events.append(StampEvent("match_drawn", **fields))
    elif match.winner_wallet == match.wallets[seat]:
        events.append(StampEvent("match_won", **fields))
    return events


def match_progress(games: Any) -> dict[str, int]:
    """The match counts settlement already keeps (`stats.games.<game>.wins|losses|draws`),
    under the progress keys of triggers filtered by game alone, or by nothing."""
    progress: dict[str, int] = {}
    if not isinstance(games, Mapping):
        return progress
    kinds = {"match_won": ("wins",), "match_drawn": ("draws",),
             "match_played": ("wins", "losses", "draws")}  # fmt: skip
    for game, counts in games.items():
        if not isinstance(counts, Mapping):
            continue
        for kind, fields in kinds.items():
            value = sum(int(counts.get(name, 0) or 0) for name in fields)
            progress[f"{kind}:game={game}"] = value
            progress[kind] = progress.get(kind, 0) + value
    return progress


class StampService:
    """Awards stamps of `catalog`; see the module docstring."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        catalog: StampCatalog,
        economy: EconomyService,
        notify: Notify,
        spawn: Spawn,
        *,
        universe: Universe | None = None,
        min_moves: int = 0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.users = client[db_name][User.Settings.name]
        self.catalog = catalog
        self.economy = economy
        self.notify = notify
        self.spawn = spawn
        self.universe: Universe = universe or {}
        self.min_moves = min_moves
        self.clock = clock
        self._reads: GroupWriter[_PlayersRead] = GroupWriter(
            self._read_players, name="stamps-players"
        )

    # --- reporting ----------------------------------------------------------------------

    def report(self, wallet: str, event: StampEvent) -> None:
        """Record `event` in the background, if some stamp listens for it at all."""
        if self.candidates(event, ()):
            self.spawn(self.record(wallet, event), f"stamps:{event.kind}")

    def candidates(self, event: StampEvent, held: Collection[str]) -> list[Stamp]:
        return [s for s in self.catalog if s.id not in held and s.trigger.matches(event)]

    async def record(
        self,
        wallet: str,
        event: StampEvent,
        progress: Mapping[str, ProgressValue] | None = None,
        held: Collection[str] | None = None,
    ) -> list[Stamp]:
        """Award what `event` earns the wallet, given its `progress` by key after the event
        (what is missing is counted here) and the stamps it `held` (None: not known).
        Returns the stamps newly awarded by this call."""
        open_stamps = self.candidates(event, held or ())
        if not open_stamps:
            return []
        known: dict[str, ProgressValue] = dict(progress or {})
        stored = [
            s.trigger.key
            for s in open_stamps
            if s.trigger.key not in known and not _count_one(s) and not s.trigger.distinct
        ]
        if stored:
            counted, held_now = await self._count(wallet, sorted(set(stored)))
            known.update(counted)
            held = held_now if held is None else held
        for stamp in open_stamps:
            if _count_one(stamp):
                known.setdefault(stamp.trigger.key, 1)
        earned = self.catalog.earned(event, known, held or (), self.universe)
        return [stamp for stamp in earned if await self.award(wallet, stamp)]

    async def _count(
        self, wallet: str, keys: list[str]
    ) -> tuple[dict[str, ProgressValue], list[str]]:
        """Add one to each stored counter (only asked while a stamp needing it is open);
        returns the counters after and the stamps held."""
        await self.users.update_one(
            {"walletAddress": wallet}, {"$inc": {f"{PROGRESS}.{key}": 1 for key in keys}}
        )
        # An update and a read, not one find_one_and_update (a scan of every user on
        # SecantusDB, as the ledger notes).
        user = await self.users.find_one(
            {"walletAddress": wallet}, {"_id": 0, "stamps": 1, PROGRESS: 1}
        )
        if user is None:
            return {}, []
        counters = user.get(PROGRESS) or {}
        return {key: int(counters.get(key, 0) or 0) for key in keys}, list(user.get("stamps", []))

    # --- awarding -----------------------------------------------------------------------

    async def award(self, wallet: str, stamp: Stamp) -> bool:
        """Give `wallet` the stamp if it has not got it: True when this call added it
        (then the player is told, `stamp_earned` before the reward's `coins`)."""
        paid: LedgerResult | None = None
        if stamp.reward:
            added, paid = await self._award_with_reward(wallet, stamp)
        else:
            changed = await self.users.update_one(*self._add(wallet, stamp))
            added = changed.modified_count == 1
        if not added:
            return False
        self.notify(wallet, StampEarned(stamp.public()))
        if paid is not None:
            self.notify(wallet, CoinsChanged(paid.balance, paid.delta, STAMP_REWARD))
        logger.info("stamp earned", extra={"wallet": short_wallet(wallet), "stamp": stamp.id})
        return True

    def _add(self, wallet: str, stamp: Stamp) -> tuple[dict[str, Any], dict[str, Any]]:
        """The conditional update that adds the stamp and when (a stamp id is a plain key:
        no dot, no `$`)."""
        now = self.clock()
        return (
            {"walletAddress": wallet, "stamps": {"$ne": stamp.id}},
            {
                "$push": {"stamps": stamp.id},
                "$set": {f"{EARNED_AT}.{stamp.id}": now, "updatedAt": now},
            },
        )

    async def _award_with_reward(
        self, wallet: str, stamp: Stamp
    ) -> tuple[bool, LedgerResult | None]:
        """The stamp and its ledger entry in one transaction: (added, the entry's result)."""
        entry = LedgerEntry(
            wallet, stamp.reward, STAMP_REWARD, f"stamp:{wallet}:{stamp.id}",
            reason=f"stamp {stamp.name}", proof={"stamp": stamp.id},
        )  # fmt: skip

        async def writes(session: Session) -> LedgerResult | None:
            changed = await self.users.update_one(*self._add(wallet, stamp), session=session)
            if changed.modified_count == 0:
                return None
            return await self.economy.write_entry(session, entry)

        try:
            result = await self.economy.run_transaction(writes)
        except DuplicateKeyError as error:
            if not is_idempotency_clash(error):
                raise
            # Paid once already (the stamp was taken away by hand and earned again).
            changed = await self.users.update_one(*self._add(wallet, stamp))
            return changed.modified_count == 1, None
        if result is None:
            return False, None
        log_economy([(entry, result)], stamp=stamp.id)
        return True, result

    # --- matches ------------------------------------------------------------------------

    async def match_ended(self, match: Match) -> None:
        """Each player's stamps for a match played out (services/matches/rated.py: a win
        handed over by a forfeit earns none). Counts come from `stats.games`, which the
        settlement updated in its transaction; one read for both players, shared with
        the matches ending at the same time (`_read_players`)."""
        if not played_out(match, self.min_moves):
            return
        read = _PlayersRead([w for w in match.wallets if w != COMPUTER_WALLET])
        await self._reads.submit(read)
        found = read.found
        for seat, wallet in enumerate(match.wallets):
            doc = found.get(wallet)
            if doc is None:  # the computer's seat, or a wallet gone since
                continue
            held = set(doc.get("stamps", []))
            progress = match_progress((doc.get("stats") or {}).get("games"))
            for event in match_events(match, seat):
                held.update(s.id for s in await self.record(wallet, event, progress, held))

    async def _read_players(self, reads: list[_PlayersRead]) -> None:
        """The players of every read in one `find`; read after all of them were asked
        (GroupWriter), so each sees the settlement that came before its ask."""
        wallets = sorted({wallet for read in reads for wallet in read.wallets})
        cursor = self.users.find(
            {"walletAddress": {"$in": wallets}},
            {"_id": 0, "walletAddress": 1, "stamps": 1, "stats.games": 1},
        )
        docs = {doc["walletAddress"]: doc async for doc in cursor}
        for read in reads:
            read.found = {wallet: docs[wallet] for wallet in read.wallets if wallet in docs}

    # --- buddies ------------------------------------------------------------------------

    async def buddy_made(self, wallet: str, buddies: int) -> list[Stamp]:
        """The buddies service calls this when `wallet` gained a buddy and now has
        `buddies` of them (for both wallets of a new pair). Awards `first_buddy` and
        the counted ones; no counter of its own, since the buddy list is the count."""
        return await self.record(wallet, StampEvent("buddy_made"), {"buddy_made": buddies})


@dataclass
class _PlayersRead:
    """The players of one finished match to read, and what was found (by wallet)."""

    wallets: list[str]
    found: dict[str, dict[str, Any]] = field(default_factory=dict)


def _count_one(stamp: Stamp) -> bool:
    """A trigger the event itself reaches: a count of exactly 1 of a counted kind."""
    return not stamp.trigger.distinct and stamp.trigger.count == 1
