"""What a shutdown with players in a room costs the database, command by command: a few
commands whatever the number of players, and one statement per player only where each
player has something of its own to write (the final stats flush, which now also sets
where the player was). Against the real database, through the same shutdown as
`clubpengu serve` (uvicorn's, with the node's `_Server`: sockets closed with 1001, then
the node's stop).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from clubpengu.config import Settings
from tests.conftest import TEST_DB
from tests.support import Wallet, enter, run_server
from tests.waiting import eventually

# Read by the node's own timers whatever the players do (the poll for balances changed
# outside the node, the erasure sweep), and the event history, flushed by its own timer.
TIMERS = {"coin_notices", "erasure_jobs", "events"}
Client = AsyncMongoClient[dict[str, Any]]
MONITORING = {"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo"}


@dataclass(frozen=True)
class Command:
    name: str
    collection: str
    statements: int  # updates, inserts or deletes in it (1 for a read)
    sets_place: int  # statements that set where a player was (`lastX`)


class Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.sent: list[Command] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in MONITORING:
            return
        target = event.command.get(event.command_name)
        collection = target if isinstance(target, str) else event.database_name
        if collection in TIMERS:
            return
        statements = 1
        sets_place = 0
        for key in ("updates", "documents", "deletes"):
            if key in event.command:
                batch = list(event.command[key])
                statements = len(batch)
                sets_place = sum("lastX" in (s.get("u") or {}).get("$set", {}) for s in batch)
        self.sent.append(Command(event.command_name, collection, statements, sets_place))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class Shutdown:
    sent: list[Command]
    wallets: list[Wallet]
    positions: dict[str, tuple[float, float]]  # where each wallet stood when it stopped


async def _shut_down_with(mongo_uri: str, settings: Settings, players: int) -> Shutdown:
    """Seat `players` in town, move each, wait until the node has written everything of
    theirs so far, then stop the server as SIGTERM does and record what it sent."""
    recorder = Recorder()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, tz_aware=True, event_listeners=[recorder]
    )
    settings = settings.with_overrides(
        ledger_verify_interval=0.0, metrics_enabled=False, stats_flush_interval_seconds=3600.0
    )
    wallets = [Wallet() for _ in range(players)]
    targets = [(200.0 + 10 * i, 300.0 + 5 * i) for i in range(players)]
    try:
        async with run_server(settings, client) as server:
            node = server.node
            clients = [(await enter(server.ws_url, w, room="town"))[0] for w in wallets]
            for c, (x, y) in zip(clients, targets, strict=True):
                await c.call({"type": "move", "x": x, "y": y})

            async def written() -> bool:
                await node.services.connection_log.flush()
                await node.services.presence.writer.flush()
                return node.services.connection_log.pending == 0

            await eventually(written, "the joins' writes are made")
            members = [m for r in node.realtime.hub.rooms.values() for m in r.members.values()]
            positions = {str(m.wallet): (m.x, m.y) for m in members}
            recorder.sent.clear()
            # run_server's exit stops uvicorn (should_exit), whose shutdown is the node's.
        sent = list(recorder.sent)
        for c in clients:
            await c.ws.close()
    finally:
        await client.close()
    return Shutdown(sent, wallets, positions)


def _commands(shutdown: Shutdown) -> Counter[tuple[str, str]]:
    return Counter((c.name, c.collection) for c in shutdown.sent)


async def test_a_shutdown_sends_the_same_few_commands_for_3_players_as_for_12(
    mongo_uri: str, settings: Settings
) -> None:
    few = await _shut_down_with(mongo_uri, settings, 3)
    many = await _shut_down_with(mongo_uri, settings, 12)

    # Presence: one update of every user this node had connected (by node id); the
    # final stats flush: one update, one statement per player (counters and place);
    # the connection log: the closes, alike at shutdown, one statement for all.
    expected = Counter({("update", "users"): 2, ("update", "connection_logs"): 1})
    assert _commands(few) == expected, few.sent
    assert _commands(many) == expected, many.sent
    for shutdown, players in ((few, 3), (many, 12)):
        # In this order: the final stats flush first, with nothing of the leaves' to
        # compete with; then presence; the connection log's closes, held until its step.
        statements = [(c.collection, c.statements, c.sets_place) for c in shutdown.sent]
        assert statements == [
            ("users", players, players),  # the final stats flush, with the places
            ("users", 1, 0),  # presence, by node id
            ("connection_logs", 1, 0),
        ], shutdown.sent


async def test_after_a_shutdown_every_player_is_gone_where_they_stood_and_their_logs_closed(
    mongo_uri: str, settings: Settings, mongo_client: Client
) -> None:
    shutdown = await _shut_down_with(mongo_uri, settings, 4)

    database = mongo_client[TEST_DB]
    for wallet in shutdown.wallets:
        x, y = shutdown.positions[wallet.address]
        user = await database.users.find_one({"walletAddress": wallet.address})
        assert user is not None
        assert (user["isConnected"], user["nodeId"]) == (False, None)
        assert user["lastLogoutAt"] is not None
        assert (user["lastRoom"], user["lastInstance"]) == ("town", "town")
        assert (user["lastX"], user["lastY"]) == (x, y)
        assert "secondsOnline" in user["stats"]["world"]  # queued by the leave, flushed at stop
        logs = await database.connection_logs.find({"walletAddress": wallet.address}).to_list()
        assert [(log["closeCode"], log["roomsVisited"]) for log in logs] == [(1001, ["town"])]
        assert logs[0]["disconnectedAt"] is not None


async def test_a_player_connected_to_another_node_is_left_connected_by_this_ones_shutdown(
    mongo_uri: str, settings: Settings, mongo_client: Client
) -> None:
    users = mongo_client[TEST_DB].users
    elsewhere = Wallet()
    await users.insert_one(
        {"walletAddress": elsewhere.address, "username": "Elsewhere1", "isConnected": True,
         "nodeId": "node-2", "currentPlayerId": "p1"}
    )  # fmt: skip

    shutdown = await _shut_down_with(mongo_uri, settings, 2)

    user = await users.find_one({"walletAddress": elsewhere.address})
    assert user is not None and (user["isConnected"], user["nodeId"]) == (True, "node-2")
    for wallet in shutdown.wallets:
        mine = await users.find_one({"walletAddress": wallet.address})
        assert mine is not None and mine["isConnected"] is False
