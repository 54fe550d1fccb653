"""What one sign-in + join costs the database, command by command, for a new and for a
returning player, against the real database: so that the count cannot creep back up.

The server's client records every command it sends. Counted: everything the sign-in and
the join send on their way, and the daily login bonus the join starts. Not counted: the
writes batched across players (the event history, the stats counters, the connection
log, written in one command for many players), the node's periodic checks, and the
driver's own monitoring. A "journal wait" is a command whose reply waits for the
database's journal (`writeConcern` with `j: true`).

The economy is as it ships (`economy_defaults`): the bonus is 25 coins, paid once a UTC
day to a wallet that has played or is at least DAILY_BONUS_MIN_AGE (a day) old, and new
wallets are counted per address (in memory: no command). The node runs on a clock the
tests move (`MovableClock`), so a returning player can be a day old.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from clubpengu.config import Settings
from tests.support import (
    MovableClock,
    RunningServer,
    Wallet,
    connect,
    economy_defaults,
    run_server,
    sign_in,
)
from tests.waiting import eventually

# Written in batches for many players at once, or read by the node's own timers whatever
# the sign-ins (the poll for balances changed outside the node, the erasure sweep).
BATCHED = {"events", "connection_logs", "coin_notices", "erasure_jobs"}
MONITORING = {"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo"}
START = datetime(2027, 1, 4, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Sent:
    name: str
    collection: str
    journal: bool


class Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in MONITORING:
            return
        target = event.command.get(event.command_name)
        collection = target if isinstance(target, str) else event.database_name
        concern = event.command.get("writeConcern") or {}
        self.sent.append(Sent(event.command_name, collection, bool(concern.get("j"))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def counted(self) -> list[Sent]:
        return [s for s in self.sent if s.collection not in BATCHED]


@dataclass
class Recorded:
    server: RunningServer
    recorder: Recorder
    clock: MovableClock


@contextlib.asynccontextmanager
async def _recorded(mongo_uri: str, settings: Settings) -> AsyncIterator[Recorded]:
    recorder = Recorder()
    clock = MovableClock(START)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, tz_aware=True, event_listeners=[recorder]
    )
    try:
        async with run_server(settings, client, clock=clock) as server:
            yield Recorded(server, recorder, clock)
    finally:
        await client.close()


def _shipped(settings: Settings, **overrides: Any) -> Settings:
    return economy_defaults(settings).with_overrides(
        ledger_verify_interval=0.0, metrics_enabled=False, **overrides
    )


@pytest.fixture
async def recorded(mongo_uri: str, settings: Settings) -> AsyncIterator[Recorded]:
    async with _recorded(mongo_uri, _shipped(settings)) as running:
        yield running


@pytest.fixture
async def bonus_at_once(mongo_uri: str, settings: Settings) -> AsyncIterator[Recorded]:
    """DAILY_BONUS_MIN_AGE=0: a new wallet is paid the bonus on its first join."""
    async with _recorded(mongo_uri, _shipped(settings, daily_bonus_min_age=0.0)) as running:
        yield running


async def _sign_in_and_join(recorded: Recorded, wallet: Wallet) -> list[Sent]:
    """The commands of one sign-in + join on a fresh connection (and of the bonus it starts)."""
    server, recorder = recorded.server, recorded.recorder
    await _settle(server)
    recorder.sent.clear()
    async with connect(server.ws_url) as client:
        await sign_in(client, wallet)
        joined = await client.request({"type": "join", "room": "town"})
        assert joined["type"] == "joined", joined
        await _settle(server)
        sent = recorder.counted()
    await _settle(server)
    return sent


async def _settle(server: RunningServer) -> None:
    """Wait for the background work the node started (the bonus, a leave's writes)."""
    node = server.node
    for _ in range(200):
        await node.tasks.wait(within=5.0)
        await node.services.connection_log.flush()
        await node.services.presence.writer.flush()
        if not node.tasks and not len(node.realtime.connections):
            break
        await asyncio.sleep(0.01)


async def _returning(recorded: Recorded, *, paid_today: bool) -> list[Sent]:
    """The commands of a returning player's sign-in + join: a wallet made a day and more
    ago, whose bonus for today was paid by an earlier join today (`paid_today`) or not."""
    wallet = Wallet()
    await _sign_in_and_join(recorded, wallet)  # created; too young for a bonus
    recorded.clock.advance(days=1, hours=1)
    await _sign_in_and_join(recorded, wallet)  # a day old: today's bonus is paid
    recorded.clock.advance(hours=1 if paid_today else 24)
    return await _sign_in_and_join(recorded, wallet)


def _kinds(sent: list[Sent]) -> Counter[tuple[str, str]]:
    return Counter((s.name, s.collection) for s in sent)


def _journaled(sent: list[Sent]) -> list[tuple[str, str]]:
    return [(s.name, s.collection) for s in sent if s.journal]


# The sign-in (services/auth.py): record the login (lastLoginAt, lastIpHash), creating
# the user on a first sign-in (an upsert, not journaled); then the session the token
# stands for, journaled, which also puts the user's write before it in the journal.
SIGN_IN = Counter({("update", "users"): 1, ("insert", "auth_sessions"): 1})
# A returning player's user is read back for `auth_success` (a new one is known from
# what the upsert wrote). The join takes the user from the sign-in on its connection
# (services/world.py, SignedInUser): no read of its own.
READ_BACK = Counter({("find", "users"): 1})
# The join: presence (room, instance, node, player id), grouped across players, not
# journaled (services/presence.py).
PRESENCE = Counter({("update", "users"): 1})
# Nothing else: the walking puffle the room is shown and whether there are active
# matches to give back are on the User the sign-in read (`walkingPuffle`,
# `activeMatches`); matches are looked up only for a player who has some.
# The bonus paid: the ledger transaction (the balance update, which also sets the day
# paid, `dailyBonusOn`; the balance read; the entry; the commit) and the barrier that puts
# it in the journal before the `coins` push (db.JournalBarrier). Its key is not looked up
# first when the user's `dailyBonusOn` names another day or the user is new; the user
# read anyway says whether today's is paid, so a player paid today costs nothing more.
BONUS_PAID = Counter(
    {
        ("update", "users"): 1,
        ("find", "users"): 1,
        ("insert", "transactions"): 1,
        ("commitTransaction", "admin"): 1,
        ("update", "journal_barrier"): 1,
    }
)

# A new player: too young for the bonus (DAILY_BONUS_MIN_AGE); 3 commands.
NEW = SIGN_IN + PRESENCE
# A new player with DAILY_BONUS_MIN_AGE=0, paid on the first join: 8.
NEW_PAID = SIGN_IN + PRESENCE + BONUS_PAID
# A returning player already paid today: 4.
RETURNING = SIGN_IN + READ_BACK + PRESENCE
# A returning player on a new day, paid: 9.
RETURNING_PAID = RETURNING + BONUS_PAID
# A returning player with an active match: the join looks it up to give it back (the
# User counts it, `activeMatches`); nothing else.
RETURNING_PLAYING = RETURNING + Counter({("find", "matches"): 1})
SESSION_WAIT = [("insert", "auth_sessions")]
BONUS_WAITS = [("insert", "auth_sessions"), ("update", "journal_barrier")]


async def test_a_new_player_sign_in_and_join_sends_these_commands_one_waiting_for_the_journal(
    recorded: Recorded,
) -> None:
    sent = await _sign_in_and_join(recorded, Wallet())

    assert _kinds(sent) == NEW
    assert _journaled(sent) == SESSION_WAIT


async def test_a_new_player_paid_the_bonus_at_once_sends_these_commands_two_waiting(
    bonus_at_once: Recorded,
) -> None:
    sent = await _sign_in_and_join(bonus_at_once, Wallet())

    assert _kinds(sent) == NEW_PAID
    assert _journaled(sent) == BONUS_WAITS


async def test_a_returning_player_sign_in_and_join_sends_these_commands_one_waiting_for_the_journal(
    recorded: Recorded,
) -> None:
    sent = await _returning(recorded, paid_today=True)

    assert _kinds(sent) == RETURNING
    assert _journaled(sent) == SESSION_WAIT


async def test_a_returning_player_on_a_new_day_is_paid_the_bonus_two_commands_waiting(
    recorded: Recorded,
) -> None:
    sent = await _returning(recorded, paid_today=False)

    assert _kinds(sent) == RETURNING_PAID
    assert _journaled(sent) == BONUS_WAITS


# The targets: a new player's sign-in + join (the bonus paid included) costs at most 8
# commands; a returning player's at most 6, of which one waits for the journal.
async def test_a_new_player_sign_in_and_join_costs_at_most_eight_commands(
    bonus_at_once: Recorded,
) -> None:
    sent = await _sign_in_and_join(bonus_at_once, Wallet())

    assert len(sent) <= 8, _kinds(sent)


async def test_a_returning_player_sign_in_and_join_costs_at_most_six_commands_one_journaled(
    recorded: Recorded,
) -> None:
    sent = await _returning(recorded, paid_today=True)

    assert len(sent) <= 6, _kinds(sent)
    assert len(_journaled(sent)) == 1, sent


async def test_a_returning_player_with_an_active_match_also_looks_it_up(
    recorded: Recorded,
) -> None:
    wallet = Wallet()
    await _sign_in_and_join(recorded, wallet)  # created
    matches = recorded.server.node.services.matches
    match = await matches.play_computer(wallet.address, "tictactoe", "easy", None)
    await eventually(
        lambda: _players_turn(matches, str(match.id), wallet), "the computer has moved"
    )

    sent = await _sign_in_and_join(recorded, wallet)  # the same day: no bonus due

    assert _kinds(sent) == RETURNING_PLAYING
    assert _journaled(sent) == SESSION_WAIT


async def _players_turn(matches: Any, match_id: str, wallet: Wallet) -> bool:
    match = await matches.get(match_id)
    return bool(match.turn == wallet.address)
