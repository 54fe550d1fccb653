"""The realtime rules as pure functions and small objects: movement clamping, chat text
and filter, per-connection limits, and the outgoing queue policy."""

from __future__ import annotations

import asyncio
import math

import pytest

from clubpengu.config import Rate
from clubpengu.errors import InvalidMessage
from clubpengu.realtime.chat import check_emote, clean_chat_text
from clubpengu.realtime.connection import Connection, Shared
from clubpengu.realtime.movement import MOVE_SLACK_SECONDS, MoveBudget, clamp_move
from clubpengu.realtime.rooms import RoomSpec
from clubpengu.transport.limits import ConnectionLimits, LimitsConfig
from clubpengu.wordfilter import WordFilter

ROOM = RoomSpec(id="yard", name="Yard", width=1000, height=500, spawn=(0, 0), capacity=5, speed=100)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- movement ---------------------------------------------------------------------------


def test_a_move_within_the_budget_is_taken_as_sent() -> None:
    budget = MoveBudget.full(ROOM, now=0.0)

    assert clamp_move(ROOM, budget, (10, 10), (20, 10), now=0.0) == (20, 10)
    assert budget.budget == pytest.approx(100 * MOVE_SLACK_SECONDS - 10)


def test_a_target_outside_the_bounds_is_clamped_first() -> None:
    budget = MoveBudget.full(ROOM, now=0.0)

    assert clamp_move(ROOM, budget, (995, 5), (2000, -50), now=0.0) == (1000, 0)


def test_a_long_jump_is_cut_short_along_the_line() -> None:
    budget = MoveBudget.full(ROOM, now=0.0)

    x, y = clamp_move(ROOM, budget, (0, 0), (300, 400), now=0.0)

    assert math.hypot(x, y) == pytest.approx(100 * MOVE_SLACK_SECONDS, abs=0.01)
    assert y / x == pytest.approx(400 / 300, rel=1e-3)
    assert budget.budget == 0


def test_over_time_a_player_covers_at_most_the_speed_plus_the_slack() -> None:
    budget = MoveBudget.full(ROOM, now=0.0)
    position = (0.0, 0.0)

    for step in range(1, 51):  # asks for 50 units every 0.1 s: five times the speed
        position = clamp_move(ROOM, budget, position, (position[0] + 50, 0), now=step * 0.1)

    assert 100 * 5 <= position[0] <= 100 * 5 + 100 * MOVE_SLACK_SECONDS


def test_moves_that_arrive_bunched_by_jitter_are_not_cut() -> None:
    budget = MoveBudget.full(ROOM, now=0.0)

    first = clamp_move(ROOM, budget, (0, 0), (10, 0), now=0.13)  # 100 u/s, 10 Hz, late
    second = clamp_move(ROOM, budget, first, (20, 0), now=0.14)  # and the next one early

    assert (first, second) == ((10, 0), (20, 0))


# --- arrival ----------------------------------------------------------------------------

TOWN = RoomSpec(
    id="town", name="Town", width=1520, height=960, spawn=(760, 620), capacity=80, speed=600
)


def test_players_arrive_spread_around_the_spawn_each_on_a_spot_of_their_own() -> None:
    spots = [TOWN.arrival(f"wallet-{n}") for n in range(40)]

    assert len(set(spots)) == 40
    assert all(math.dist(spot, TOWN.spawn) <= TOWN.spread + 0.1 for spot in spots)
    # Spread over the disc, not huddled at its middle: most are more than 20 units apart.
    apart = [math.dist(a, b) > 20 for i, a in enumerate(spots) for b in spots[i + 1 :]]
    assert sum(apart) / len(apart) > 0.8


def test_the_same_player_arrives_at_the_same_spot_of_a_room() -> None:
    assert TOWN.arrival("7xKX") == TOWN.arrival("7xKX")
    dock = TOWN.model_copy(update={"id": "dock"})
    assert dock.arrival("7xKX") != TOWN.arrival("7xKX")


def test_an_arrival_near_an_edge_stays_inside_the_room() -> None:
    corner = RoomSpec(
        id="corner", name="Corner", width=100, height=50, spawn=(0, 50), capacity=5, speed=10
    )

    spots = [corner.arrival(str(n)) for n in range(50)]

    assert all(0 <= x <= 100 and 0 <= y <= 50 for x, y in spots)


def test_a_room_without_spread_puts_everyone_on_the_spawn() -> None:
    still = TOWN.model_copy(update={"spread": 0})

    assert {still.arrival(str(n)) for n in range(10)} == {(760, 620)}


# --- chat -------------------------------------------------------------------------------


def test_chat_text_is_trimmed() -> None:
    assert clean_chat_text("  hi there \n") == "hi there"


@pytest.mark.parametrize("text", ["", "  ", "a" * 201, "tab\there", "esc\x1b[31m", "\u2066x"])
def test_chat_text_breaking_a_rule_is_refused(text: str) -> None:
    with pytest.raises(InvalidMessage):
        clean_chat_text(text)


def test_emoji_and_accents_are_fine() -> None:
    assert clean_chat_text("café 👨\u200d👩\u200d👧") == "café 👨\u200d👩\u200d👧"


def test_the_word_filter_masks_whole_words_case_insensitively() -> None:
    words = WordFilter(["ass", "bad word"])

    assert words.apply("Ass! a class of BAD  word, bad word.") == (
        "***! a class of *********, ********."
    )


def test_an_empty_word_list_changes_nothing() -> None:
    assert WordFilter([]).apply("anything at all") == "anything at all"


def test_only_listed_emotes_pass() -> None:
    assert check_emote("wave") == "wave"
    with pytest.raises(InvalidMessage):
        check_emote("Wave")


# --- limits -----------------------------------------------------------------------------

LIMITS = LimitsConfig(Rate(2, 1.0), Rate(1, 5.0), Rate(3, 1.0), abuse_seconds=2.0)


def test_each_kind_has_its_own_bucket_and_emotes_share_chat() -> None:
    limits = ConnectionLimits(LIMITS, _Clock())

    assert [limits.allow("move") for _ in range(3)] == [True, True, False]
    assert [limits.allow("chat"), limits.allow("emote")] == [True, False]
    assert [limits.allow("ping") for _ in range(4)] == [True, True, True, False]


def test_refusals_for_the_abuse_period_without_a_pause_are_abuse() -> None:
    clock = _Clock()
    limits = ConnectionLimits(LIMITS, clock)

    for _ in range(25):  # 20 moves a second for 2.4 s against a rate of 2/s
        limits.allow("move")
        clock.now += 0.1
    sustained = limits.abusive

    assert sustained


def test_a_pause_between_bursts_is_not_abuse() -> None:
    clock = _Clock()
    limits = ConnectionLimits(LIMITS, clock)

    for _ in range(3):
        for _ in range(5):
            limits.allow("move")
        clock.now += 1.5  # refills; the next burst starts a new streak

    assert not limits.abusive


def test_five_oversized_frames_in_ten_seconds_are_too_many() -> None:
    clock = _Clock()
    limits = ConnectionLimits(LIMITS, clock)

    spaced = []
    for _ in range(5):
        spaced.append(limits.oversized())
        clock.now += 3  # 5 frames over 12 s
    bunched = [limits.oversized() for _ in range(5)]

    assert spaced == [False] * 5
    assert bunched[-1]


# --- the outgoing queue -------------------------------------------------------------------


class _StuckTransport:
    """A socket whose writes never complete (the peer stopped reading)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate = asyncio.Event()
        self.aborted = False

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str = "") -> None:
        await self.gate.wait()

    def abort(self) -> None:
        self.aborted = True

    def write_frame(self, frame: bytes) -> bool:
        return False


async def test_a_waiting_moves_batch_is_replaced_by_a_snapshot_and_chat_is_kept() -> None:
    transport = _StuckTransport()
    connection = Connection(transport=transport, ip="127.0.0.1")
    connection.start()
    connection.send_text("first")
    await asyncio.sleep(0)  # the writer takes "first" and blocks on it

    connection.send_moves(Shared("moves-1"), lambda: "snapshot")
    connection.send_text("chat")
    connection.send_moves(Shared("moves-2"), lambda: "snapshot")
    connection.send_moves(Shared("moves-3"), lambda: "snapshot-3")
    transport.gate.set()
    await connection.flush()
    await connection.finish()

    assert transport.sent == ["first", "chat", "snapshot-3"]
    assert connection.moves_superseded == 2


async def test_a_stuck_writer_is_reported_stalled_after_the_limit() -> None:
    connection = Connection(transport=_StuckTransport(), ip="127.0.0.1")
    connection.start()
    connection.send_text("frame")
    await asyncio.sleep(0)
    loop_now = connection._progress_at

    assert not connection.stalled(loop_now + 1.0, limit=5.0)
    assert connection.stalled(loop_now + 5.0, limit=5.0)
    await connection.finish()


async def test_closing_a_connection_whose_close_cannot_be_written_aborts_it() -> None:
    transport = _StuckTransport()
    connection = Connection(transport=transport, ip="127.0.0.1")
    connection.start()
    connection.send_text("frame")
    await asyncio.sleep(0)

    await connection.close(1008, "too slow", flush=False)

    assert transport.aborted
    assert connection.closed_by_server and connection.close_code == 1008
    assert not connection.dropped


def test_a_shared_frame_is_a_complete_unmasked_text_frame() -> None:
    from websockets.frames import Frame, Opcode
    from websockets.streams import StreamReader

    for size in (0, 125, 126, 65535, 65536):
        text = "é" * (size // 2) + "a" * (size % 2)
        reader = StreamReader()
        reader.feed_data(Shared(text).frame)
        reader.feed_eof()
        parser = Frame.parse(reader.read_exact, mask=False)
        with pytest.raises(StopIteration) as parsed:
            while True:
                next(parser)

        frame = parsed.value.value
        assert (frame.opcode, frame.fin, frame.data.decode()) == (Opcode.TEXT, True, text)


# --- full collections between ticks ---------------------------------------------------------


def test_the_gc_pacer_runs_full_collections_itself_and_restores_the_thresholds() -> None:
    import gc

    from clubpengu.realtime.gcpacer import GcPacer

    clock = _Clock()
    before = gc.get_threshold()
    pacer = GcPacer(interval=30.0, clock=clock)

    pacer.start()
    automatic = gc.get_threshold()[2]
    too_soon = pacer.after_tick()
    clock.now += 31
    for _ in range(before[2] + 1):
        gc.collect(1)  # middle-generation collections since the last full one
    due = pacer.after_tick()
    pacer.stop()

    assert automatic > 1_000_000  # CPython's own trigger is off while the pacer runs
    assert (too_soon, due) == (False, True)
    assert gc.get_threshold() == before


async def test_pushes_held_during_a_join_follow_its_reply_in_order() -> None:
    transport = _StuckTransport()
    transport.gate.set()
    connection = Connection(transport=transport, ip="127.0.0.1")
    connection.start()

    connection.hold()
    connection.send_text('{"type":"player_joined"}')
    connection.send_shared(Shared('{"type":"chat"}'))
    connection.send_reply('{"type":"joined"}')
    connection.send_text('{"type":"emote"}')
    await connection.flush()

    assert transport.sent == [
        '{"type":"joined"}', '{"type":"player_joined"}', '{"type":"chat"}', '{"type":"emote"}'
    ]  # fmt: skip
    await connection.finish()
