"""The room relay over the event bus: two hubs on one in-memory bus stand in for two nodes
(docs/many-nodes.md#rooms-across-nodes). Pushes cross once, movers merge into the other
node's next batch, and a node never delivers its own events twice. A hub given no relay
has the null one: it relays nothing, listens to nothing, and is handed each cut's movers
in one call."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator

import pytest

from clubpengu.realtime.bus.backends.memory import MemoryBus
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub, Member
from clubpengu.realtime.relay import NullRelay, RoomRelay
from clubpengu.realtime.rooms import RoomCatalogue
from tests.waiting import eventually


class _Socket:
    def __init__(self) -> None:
        self.frames: list[dict[str, object]] = []

    async def send_text(self, text: str) -> None:
        self.frames.append(json.loads(text))

    async def close(self, code: int, reason: str = "") -> None:
        pass

    def abort(self) -> None:
        pass

    def write_frame(self, frame: bytes) -> bool:
        return False


def _hub(bus: MemoryBus, node: str) -> Hub:
    hub = Hub(RoomCatalogue.load())
    hub.relay = RoomRelay(hub, bus, node)
    return hub


async def _seat(hub: Hub, player_id: str, room: str = "plaza") -> _Socket:
    socket = _Socket()
    connection = Connection(transport=socket, ip="127.0.0.1")
    connection.start()
    spec = hub.catalogue.rooms[room]
    member = Member(connection, player_id, None, player_id, {}, *spec.spawn)
    await hub.join(member, spec)
    await eventually(lambda: _subscribed(hub, room), "the relay listens on the room")
    return socket


def _subscribed(hub: Hub, room: str) -> bool:
    """The relay's listener of the room has taken its first step, in which it subscribes on
    the in-memory bus (a null relay has no listener)."""
    if not isinstance(hub.relay, RoomRelay):
        return True
    listener = hub.relay._listeners[room]
    return inspect.getcoroutinestate(listener.get_coro()) != inspect.CORO_CREATED


async def _settle(*hubs: Hub) -> None:
    """Wait until what the hubs sent has arrived: every message on their bus taken off its
    queue (a relay applies a message in the step that takes it), then every frame queued
    for a member written to its socket."""
    for hub in hubs:
        if isinstance(hub.relay, RoomRelay):
            bus = hub.relay.bus
            assert isinstance(bus, MemoryBus)
            await eventually(lambda: _delivered(bus), "every bus message applied")  # noqa: B023
    for hub in hubs:
        for member in list(hub.members.values()):
            await member.connection.flush()


def _delivered(bus: MemoryBus) -> bool:
    return all(queue.empty() for queues in bus._subscribers.values() for queue in queues)


async def _stop(hub: Hub) -> None:
    for member in list(hub.members.values()):
        await member.connection.finish()
    assert hub.relay is not None
    await hub.relay.stop()


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[Hub, Hub]]:
    bus = MemoryBus()
    one, two = _hub(bus, "node-1"), _hub(bus, "node-2")
    yield one, two
    await _stop(one)
    await _stop(two)


async def test_a_push_reaches_the_other_node_once_and_is_not_echoed(
    nodes: tuple[Hub, Hub],
) -> None:
    one, two = nodes
    here = await _seat(one, "pa")
    there = await _seat(two, "pb")
    here.frames.clear()
    there.frames.clear()

    member = next(iter(one.members.values()))
    await one.chat(member.connection, "hello other node")
    await _settle(one, two)

    assert [f["text"] for f in here.frames] == ["hello other node"]
    assert [f["text"] for f in there.frames] == ["hello other node"]


async def test_movers_of_another_node_join_this_node_s_next_batch(
    nodes: tuple[Hub, Hub],
) -> None:
    one, two = nodes
    here = await _seat(one, "pa")
    there = await _seat(two, "pb")
    mover = next(iter(one.members.values()))
    x, y = mover.x + 5, mover.y

    one.move(mover.connection, x, y)
    await one.tick_once()  # node 1 sends its batch and publishes its movers
    await _settle(one, two)
    batches_on_two = await two.tick_once()
    await _settle(one, two)

    expected = [{"playerId": "pa", "x": x, "y": y}]
    assert [f["moves"] for f in here.frames if f["type"] == "moves"] == [expected]
    assert batches_on_two == 1
    assert [f["moves"] for f in there.frames if f["type"] == "moves"] == [expected]


async def test_a_single_node_delivers_each_event_once() -> None:
    bus = MemoryBus()
    hub = _hub(bus, "node-1")
    first = await _seat(hub, "pa")
    second = await _seat(hub, "pb")
    mover = hub.members[next(iter(hub.members))]

    hub.move(mover.connection, mover.x + 1, mover.y)
    await hub.tick_once()
    await hub.emote(mover.connection, "wave")
    await _settle(hub)  # its own messages came back through the bus, and were dropped
    await _stop(hub)

    for socket in (first, second):
        kinds = [f["type"] for f in socket.frames if f["type"] in {"moves", "emote"}]
        assert kinds == ["moves", "emote"]


async def test_every_node_s_movers_of_a_tick_share_one_batch_on_each_node(
    nodes: tuple[Hub, Hub],
) -> None:
    one, two = nodes
    here = await _seat(one, "pa")
    there = await _seat(two, "pb")
    for hub in (one, two):
        mover = next(iter(hub.members.values()))
        hub.move(mover.connection, mover.x + 3, mover.y)

    await one.cut()  # each node publishes its movers at the cut …
    await two.cut()
    await _settle(one, two)
    sent = (one.send_batches(), two.send_batches())  # … and the others have them at the send
    await _settle(one, two)

    assert sent == (1, 1)
    for socket in (here, there):
        batches = [f["moves"] for f in socket.frames if f["type"] == "moves"]
        assert len(batches) == 1
        assert sorted(m["playerId"] for m in batches[0]) == ["pa", "pb"]


async def test_a_move_after_the_cut_goes_in_the_next_batch(nodes: tuple[Hub, Hub]) -> None:
    one, _ = nodes
    here = await _seat(one, "pa")
    mover = next(iter(one.members.values()))
    first, second = mover.x + 1, mover.x + 2

    one.move(mover.connection, first, mover.y)
    await one.cut()
    one.move(mover.connection, second, mover.y)  # between the cut and the send
    one.send_batches()
    await one.tick_once()
    await _settle(one)

    xs = [[m["x"] for m in f["moves"]] for f in here.frames if f["type"] == "moves"]
    assert xs == [[first], [second]]


async def test_a_slow_client_s_snapshot_has_the_other_nodes_players_until_they_leave(
    nodes: tuple[Hub, Hub],
) -> None:
    one, two = nodes
    await _seat(one, "pa")
    await _seat(two, "pb")
    mover = next(iter(two.members.values()))
    two.move(mover.connection, mover.x + 4, mover.y)
    await two.tick_once()
    await _settle(one, two)
    room = one.rooms["plaza"]
    one.send_batches()

    with_remote = json.loads(room.snapshot())["moves"]
    await two.leave(mover.connection)
    await _settle(one, two)
    one.send_batches()
    without = json.loads(room.snapshot())["moves"]

    assert {"playerId": "pb", "x": mover.x, "y": mover.y} in with_remote
    assert [m["playerId"] for m in without] == ["pa"]


class _RecordingRelay(NullRelay):
    def __init__(self) -> None:
        self.moves: list[list[tuple[str, str]]] = []

    async def publish_moves(self, cut: list[tuple[str, str]]) -> None:
        self.moves.append(cut)


async def test_a_hub_given_no_relay_serves_its_own_members_and_listens_to_no_channel() -> None:
    hub = Hub(RoomCatalogue.load())
    here = await _seat(hub, "pa")
    await _seat(hub, "pb", room="town")
    mover = next(m for m in hub.members.values() if m.player_id == "pa")

    hub.move(mover.connection, mover.x + 1, mover.y)
    await hub.tick_once()
    await hub.chat(mover.connection, "alone here")
    await _settle(hub)
    relay_tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("relay-")]
    await _stop(hub)

    assert isinstance(hub.relay, NullRelay)
    assert relay_tasks == []
    assert [f["type"] for f in here.frames if f["type"] in {"moves", "chat"}] == ["moves", "chat"]


async def test_a_cut_hands_the_relay_every_room_s_movers_in_one_call() -> None:
    hub = Hub(RoomCatalogue.load())
    relay = hub.relay = _RecordingRelay()
    await _seat(hub, "pa")
    await _seat(hub, "pb", room="town")
    for member in list(hub.members.values()):
        hub.move(member.connection, member.x + 1, member.y)

    await hub.cut()
    await hub.cut()  # nobody moved since: the relay is not called

    assert len(relay.moves) == 1
    assert sorted(room for room, _ in relay.moves[0]) == ["plaza", "town"]
    await _stop(hub)
