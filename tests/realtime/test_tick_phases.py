"""The tick spread over phases: a room's phase is a function of its id, a phase sends only
its own rooms, steps fall on the wall clock (the same on every node), a lead cuts ahead,
and the loop catches late phases up instead of skipping them."""

from __future__ import annotations

import asyncio
import itertools

import orjson

from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub, Member, room_phase
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec
from clubpengu.realtime.ticker import PhasedTick
from tests.realtime.support import RecordingTransport


def _catalogue(n: int) -> RoomCatalogue:
    specs = [
        RoomSpec(id=f"r{i}", name=f"R{i}", width=100, height=100, spawn=(0, 0), capacity=5,
                 speed=1000)
        for i in range(n)
    ]  # fmt: skip
    return RoomCatalogue.from_specs(specs, "r0", "test")


async def _seat(hub: Hub, room: str) -> Connection:
    connection = Connection(RecordingTransport(), ip="127.0.0.1")
    member = Member(connection, f"p{connection.id}", None, "P", {}, 0.0, 0.0)
    await hub.join(member, hub.spec(room))
    return connection


def test_a_room_s_phase_depends_on_its_id_alone_and_rooms_spread_over_every_phase() -> None:
    ids = [f"bench_{i}" for i in range(50)]

    phases = [room_phase(room, 10) for room in ids]

    assert phases == [room_phase(room, 10) for room in ids]  # the same on every node
    assert set(phases) == set(range(10))
    assert max(phases.count(p) for p in range(10)) <= 10


async def test_a_phase_sends_the_batches_of_its_own_rooms_only() -> None:
    hub = Hub(_catalogue(6), phases=2)
    one, other = "r0", "r4"  # phases 1 and 0
    first, second = await _seat(hub, one), await _seat(hub, other)
    hub.move(first, 10, 10)
    hub.move(second, 20, 20)

    sent = await hub.tick_phase(hub.rooms[other].phase)

    assert hub.rooms[one].phase != hub.rooms[other].phase
    assert sent == 1
    assert hub.rooms[one].moved and not hub.rooms[other].moved
    assert await hub.tick_phase(hub.rooms[one].phase) == 1
    assert await hub.tick_once() == 0


class _Recorder:
    phases = 4

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []
        self.eight_sent = asyncio.Event()

    async def cut(self, phase: int | None = None) -> None:
        self.calls.append(("cut", phase))

    def send_batches(self, phase: int | None = None) -> int:
        self.calls.append(("send", phase))
        if len(self.sent()) >= 8:
            self.eight_sent.set()
        return 0

    def sent(self) -> list[int | None]:
        return [phase for step, phase in self.calls if step == "send"]


async def test_each_step_cuts_and_sends_the_phase_that_came_due_on_the_wall_clock() -> None:
    now = [1000.0]
    hub, ticks = _Recorder(), []
    tick = PhasedTick(hub, tick_rate=10, after_tick=lambda: ticks.append(now[0]),
                      clock=lambda: now[0])  # fmt: skip

    for step in range(8):
        now[0] = 1000.0 + step * 0.025 + 0.001
        await tick.step()

    # 1000.0 s is step 40,000 of 25 ms: phase 0; every node counts the same way.
    assert hub.sent() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert hub.calls[:4] == [("cut", 0), ("send", 0), ("cut", 1), ("send", 1)]
    assert len(ticks) == 2


async def test_with_a_lead_a_step_sends_its_phase_and_cuts_one_ahead_by_the_lead() -> None:
    now = [1000.001]
    hub = _Recorder()
    tick = PhasedTick(hub, tick_rate=10, lead=0.02, clock=lambda: now[0])  # 25 ms steps

    await tick.step()
    now[0] += 0.025
    await tick.step()

    assert tick.lead_steps == 1
    assert hub.calls == [("send", 0), ("cut", 1), ("send", 1), ("cut", 2)]


async def test_phases_missed_while_the_loop_was_held_up_are_caught_up_in_order() -> None:
    now = [1000.001]
    hub = _Recorder()
    tick = PhasedTick(hub, tick_rate=10, clock=lambda: now[0])
    await tick.step()

    now[0] = 1000.076  # three steps late
    await tick.step()
    now[0] = 1000.9  # more than a whole period late: each phase once, not eight times over
    await tick.step()

    assert hub.sent() == [0, 1, 2, 3, 1, 2, 3, 0]
    assert tick.overruns == 2 + 3


async def test_the_running_loop_steps_on_its_own() -> None:
    hub = _Recorder()
    tick = PhasedTick(hub, tick_rate=20)  # 12.5 ms steps

    tick.start()
    async with asyncio.timeout(10):  # 0.1 s on a quiet machine; a busy one may hold it up
        await hub.eight_sent.wait()
    await tick.stop()

    sent = hub.sent()
    assert all((b - a) % 4 == 1 for a, b in itertools.pairwise(sent))


async def test_two_cuts_before_one_send_put_each_mover_in_the_batch_once_at_the_latest() -> None:
    # With a lead, a late loop catches up by cutting a room again before its send.
    hub = Hub(_catalogue(1), phases=1)
    mover = await _seat(hub, "r0")
    hub.move(mover, 10, 10)
    await hub.cut(0)
    hub.move(mover, 12, 12)
    await hub.cut(0)

    batch = hub.rooms["r0"].take_batch()

    assert batch is not None
    moves = orjson.loads(batch)["moves"]
    assert [(m["x"], m["y"]) for m in moves] == [(12, 12)]
