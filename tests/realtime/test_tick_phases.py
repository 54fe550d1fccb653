"""The tick spread over phases: rooms share the phases evenly, a phase sends only its own
rooms, and the loop catches late phases up instead of skipping them."""

from __future__ import annotations

from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub, Member
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec
from clubpengu.realtime.ticker import PhasedTick


class _Transport:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str = "") -> None:
        return None

    def abort(self) -> None:
        return None

    def write_frame(self, frame: bytes) -> bool:
        return False


def _catalogue(n: int) -> RoomCatalogue:
    specs = [
        RoomSpec(id=f"r{i}", name=f"R{i}", width=100, height=100, spawn=(0, 0), capacity=5,
                 speed=1000)
        for i in range(n)
    ]  # fmt: skip
    return RoomCatalogue.from_specs(specs, "r0", "test")


async def _seat(hub: Hub, room: str) -> Connection:
    connection = Connection(_Transport(), ip="127.0.0.1")
    member = Member(connection, f"p{connection.id}", None, "P", {}, 0.0, 0.0)
    await hub.join(member, hub.spec(room))
    return connection


async def test_rooms_are_spread_evenly_over_the_phases() -> None:
    hub = Hub(_catalogue(7), phases=3)

    for i in range(7):
        await _seat(hub, f"r{i}")

    per_phase = [sum(1 for room in hub.rooms.values() if room.phase == p) for p in range(3)]
    assert sorted(per_phase) == [2, 2, 3]


async def test_a_phase_sends_the_batches_of_its_own_rooms_only() -> None:
    hub = Hub(_catalogue(2), phases=2)
    first, second = await _seat(hub, "r0"), await _seat(hub, "r1")
    hub.move(first, 10, 10)
    hub.move(second, 20, 20)
    phase_of_r1 = hub.rooms["r1"].phase

    sent = await hub.tick_phase(phase_of_r1)

    assert sent == 1
    assert hub.rooms["r0"].moved and not hub.rooms["r1"].moved
    assert await hub.tick_phase(hub.rooms["r0"].phase) == 1
    assert await hub.tick_once() == 0


class _Recorder:
    phases = 4

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def tick_phase(self, phase: int) -> int:
        self.calls.append(phase)
        return 0


async def test_each_step_sends_the_phase_that_came_due() -> None:
    now = [0.0]
    hub, ticks = _Recorder(), []
    tick = PhasedTick(hub, tick_rate=10, after_tick=lambda: ticks.append(now[0]),
                      clock=lambda: now[0])  # fmt: skip

    for step in range(8):
        now[0] = step * 0.025 + 0.001
        await tick.step()

    assert hub.calls == [0, 1, 2, 3, 0, 1, 2, 3]
    assert len(ticks) == 2


async def test_phases_missed_while_the_loop_was_held_up_are_caught_up_in_order() -> None:
    now = [0.0]
    hub = _Recorder()
    tick = PhasedTick(hub, tick_rate=10, clock=lambda: now[0])
    now[0] = 0.001
    await tick.step()

    now[0] = 0.076  # three steps late
    await tick.step()
    now[0] = 0.9  # more than a whole period late: each phase once, not eight times over
    await tick.step()

    assert hub.calls == [0, 1, 2, 3, 1, 2, 3, 0]
