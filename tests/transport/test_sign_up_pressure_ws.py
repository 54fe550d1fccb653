"""Sign-up pressure with the default settings: new wallets per client address per day
(NEW_ACCOUNTS_PER_IP_PER_DAY, over the WebSocket and HTTP, and across nodes through Redis),
and the daily bonus paid only to a wallet with a day of history or that has played."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from clubpengu.config import Settings
from clubpengu.models import AuthSession, Event, Transaction, User
from tests.conftest import TEST_DB
from tests.redis_server import RedisServer, running_redis
from tests.support import (
    MovableClock,
    RunningServer,
    Wallet,
    connect,
    economy_defaults,
    enter,
    run_server,
)

Mongo = AsyncMongoClient[dict[str, Any]]


async def _attempt(url: str, wallet: Wallet) -> dict[str, Any]:
    async with connect(url) as client:
        challenge = await client.call({"type": "auth_request"})
        return await client.call({"type": "auth_verify", "walletAddress": wallet.address,
                                  "signature": wallet.sign(challenge["nonce"])})  # fmt: skip


async def test_an_address_makes_at_most_twenty_new_wallets_a_day(
    settings: Settings, mongo_client: Mongo
) -> None:
    clock = MovableClock()
    async with run_server(economy_defaults(settings), mongo_client, clock=clock) as server:
        made = [Wallet() for _ in range(20)]
        first = [await _attempt(server.ws_url, wallet) for wallet in made]
        refused_wallet = Wallet()
        refused = await _attempt(server.ws_url, refused_wallet)
        returning = await _attempt(server.ws_url, made[0])
        async with httpx.AsyncClient(base_url=server.url) as http:
            challenge = (await http.post("/auth/challenge", json={})).json()
            over_http = await http.post("/auth/verify", json={
                "challengeId": challenge["challengeId"], "walletAddress": refused_wallet.address,
                "signature": refused_wallet.sign(challenge["nonce"])})  # fmt: skip
        clock.advance(days=1)
        next_day = await _attempt(server.ws_url, refused_wallet)

    assert [reply["type"] for reply in first] == ["auth_success"] * 20
    assert refused == {"type": "auth_failure", "error": "rate_limited"}
    assert returning["type"] == "auth_success" and returning["isNewUser"] is False
    assert over_http.status_code == 429 and over_http.json()["error"] == "rate_limited"
    assert next_day["type"] == "auth_success" and next_day["isNewUser"] is True
    assert await User.count() == 21
    assert await AuthSession.find({"walletAddress": refused_wallet.address}).count() == 1
    failed = await Event.find(
        {"kind": "sign_in_failed", "walletAddress": refused_wallet.address}
    ).count()
    assert failed == 2


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path / "redis") as server:
        yield server


async def test_with_redis_the_count_holds_across_nodes(
    settings: Settings, mongo_client: Mongo, own_redis: RedisServer
) -> None:
    shared = economy_defaults(settings).with_overrides(
        redis_url=own_redis.url, new_accounts_per_ip_per_day=2
    )
    async with (
        run_server(shared.with_overrides(node_id="node-a"), mongo_client) as a,
        run_server(shared.with_overrides(node_id="node-b"), mongo_client) as b,
    ):
        on_a = [await _attempt(a.ws_url, Wallet()) for _ in range(2)]
        on_b = await _attempt(b.ws_url, Wallet())

    assert [reply["type"] for reply in on_a] == ["auth_success", "auth_success"]
    assert on_b["type"] == "auth_failure" and on_b["error"] == "rate_limited"
    assert await User.count() == 2


async def _bonuses(server: RunningServer, wallet: Wallet) -> list[str]:
    """The days of `wallet`'s daily bonuses, once the joins' background work is done."""
    assert await server.node.tasks.wait(within=5.0)
    found = await Transaction.find(
        {"walletAddress": wallet.address, "type": "daily_bonus"}
    ).to_list()
    return sorted(entry.proof["day"] for entry in found)


async def _token(url: str, wallet: Wallet) -> str:
    async with connect(url) as client:
        challenge = await client.call({"type": "auth_request"})
        signed = await client.call({"type": "auth_verify", "walletAddress": wallet.address,
                                    "signature": wallet.sign(challenge["nonce"])})  # fmt: skip
    token: str = signed["token"]
    return token


async def test_a_wallet_made_a_minute_ago_gets_no_daily_bonus_until_it_plays_or_a_day_passed(
    settings: Settings, mongo_client: Mongo
) -> None:
    clock = MovableClock(datetime(2027, 1, 4, 10, tzinfo=UTC))
    async with run_server(economy_defaults(settings), mongo_client, clock=clock) as server:
        new, player, other = Wallet(), Wallet(), Wallet()
        fresh, signed, _ = await enter(server.ws_url, new)
        await fresh.close()
        first_join = await _bonuses(server, new)
        a, _, _ = await enter(server.ws_url, player, room="dojo")
        b, _, joined = await enter(server.ws_url, other, room="dojo")
        sent = await a.call({"type": "challenge", "targetPlayerId": joined["playerId"],
                             "game": "tictactoe", "wager": 0})  # fmt: skip
        await b.recv_type("challenge")
        started = await b.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
        await b.call({"type": "match_forfeit", "matchId": started["matchId"]})
        await a.recv_type("match_end")
        await a.close()
        before_playing = await _bonuses(server, player)
        async with connect(server.ws_url) as again:  # the same day, after a game
            await again.call({"type": "join", "token": await _token(server.ws_url, player)})
        after_playing = await _bonuses(server, player)
        clock.advance(hours=24)
        async with connect(server.ws_url) as next_day:
            await next_day.call({"type": "join", "token": signed["token"]})
        a_day_old = await _bonuses(server, new)
        await b.close()

    assert first_join == [] and before_playing == []
    assert after_playing == ["2027-01-04"]
    assert a_day_old == ["2027-01-05"]


class _Commands(CommandListener):
    """The database commands a client sends, as `name collection` (the driver's own are
    left out, and the connection log's: its writer groups them as they come, so their
    number depends on timing, and no rule touches it)."""

    IGNORED = frozenset({"hello", "isMaster", "ismaster", "ping", "endSessions", "saslStart"})
    GROUPED = frozenset({"connection_logs"})

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        if event.command_name in self.IGNORED or target in self.GROUPED:
            return
        self.names.append(f"{event.command_name} {target}" if isinstance(target, str) else
                          event.command_name)  # fmt: skip

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


async def _left(server: RunningServer) -> None:
    """Wait until the node has seen the socket close and written what the leave writes:
    a loaded machine may not have read the close yet when the client's `close` returns,
    and a leave counted in one run and not in another made the runs differ."""
    node = server.node
    for _ in range(500):
        assert await node.tasks.wait(within=5.0)
        await node.services.connection_log.flush()
        await node.services.presence.writer.flush()
        if not node.tasks and not len(node.realtime.connections):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the node did not see the socket close")


async def _returning_sign_in_and_join(
    settings: Settings, mongo_uri: str, wallet: Wallet, clock: MovableClock
) -> list[str]:
    """The commands of one sign-in and join of `wallet`, which already exists."""
    commands = _Commands()
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[commands])
    try:
        async with run_server(settings, client, clock=clock) as server:
            await server.node.tasks.wait(within=5.0)
            commands.names.clear()
            joined, _, _ = await enter(server.ws_url, wallet)
            # The join does not wait for its presence write: written now, it is one
            # command of its own in every run, never grouped with the leave's.
            await server.node.services.presence.writer.flush()
            await joined.close()
            await _left(server)
            return sorted(commands.names)
    finally:
        await client.close()


async def test_the_farm_rules_add_no_command_to_a_returning_players_sign_in_and_join(
    settings: Settings, mongo_client: Mongo, mongo_uri: str
) -> None:
    clock = MovableClock(datetime(2027, 1, 4, 10, tzinfo=UTC))
    wallet = Wallet()
    async with run_server(settings, mongo_client, clock=clock) as server:
        first, _, _ = await enter(server.ws_url, wallet)  # the wallet exists from now on
        await first.close()
    shipped = economy_defaults(settings)
    unruled = shipped.with_overrides(new_accounts_per_ip_per_day=0, daily_bonus_min_age=0.0)

    # A day apart each (so each join pays the day's bonus); the fewest of five, since a
    # transaction that met a write conflict (the bonus and presence both write the user)
    # is retried and adds its commands again.
    runs: dict[str, list[list[str]]] = {"with": [], "without": []}
    for _ in range(5):
        for name, rules in (("with", shipped), ("without", unruled)):
            clock.advance(days=1)
            runs[name].append(await _returning_sign_in_and_join(rules, mongo_uri, wallet, clock))

    # Per command and collection, the fewest seen: a retried transaction adds commands
    # to its run only, so one run's list is not the measure of another's.
    def fewest(lists: list[list[str]]) -> dict[str, int]:
        names = {name for names in lists for name in names}
        fewest = {name: min(names.count(name) for names in lists) for name in sorted(names)}
        return {name: count for name, count in fewest.items() if count}

    with_rules, without_rules = fewest(runs["with"]), fewest(runs["without"])
    assert set(with_rules) <= set(without_rules), (with_rules, without_rules)
    assert all(with_rules[name] <= without_rules[name] for name in with_rules), (
        with_rules,
        without_rules,
    )
    bonuses = mongo_client[TEST_DB]["transactions"].count_documents({"type": "daily_bonus"})
    assert await bonuses == 10  # the rules were there to be paid for
