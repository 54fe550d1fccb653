"""The computer's worker processes, real ones: moves come back legal and in their
matches, a search that fails fails its move alone, a worker that dies is replaced (the
move it held asked again of the new one), and a stopped pool leaves no process behind."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import pickle
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clubpengu.games import GAMES, get_game
from clubpengu.games.computer import choose_move, move_seed
from clubpengu.games.computer.worker import HEADER, frame, serve
from clubpengu.models import COMPUTER_WALLET, Match, MatchPlayer, Opponent
from clubpengu.services.matches.computer_pool import (
    ComputerError,
    ComputerPool,
    WorkerGone,
    _Worker,
)
from tests.games.computer_support import random_position
from tests.waiting import eventually


def position(game_id: str, seed: int) -> tuple[Match, int]:
    """A match of `game_id` a few random moves in, the computer in a seat that may move."""
    state, seat = random_position(game_id, seed, seed % 4)
    wallets = ["w-person", "w-person"]
    wallets[seat] = COMPUTER_WALLET
    match = Match(
        game=game_id, wallets=wallets, state=state, seed=seed, seq=seed % 4,
        players=[MatchPlayer(wallet_address=w, username=w) for w in wallets],
        opponent=Opponent.COMPUTER, computer_level=["easy", "normal", "hard"][seed % 3],
    )  # fmt: skip
    return match, seat


@pytest.fixture
async def pool() -> AsyncIterator[ComputerPool]:
    pool = ComputerPool(2)
    yield pool
    await pool.stop()


async def test_moves_from_worker_processes_are_the_rules_own_and_land_in_their_match(
    pool: ComputerPool,
) -> None:
    """60 moves asked at once of two workers: each is the move `choose_move` gives for its
    own match (so none is swapped with another's reply), and legal."""
    asked = [position(game_id, seed) for seed in range(20) for game_id in sorted(GAMES)]
    moves = await asyncio.gather(*(pool.choose(match, seat) for match, seat in asked))
    for (match, seat), move in zip(asked, moves, strict=True):
        level = str(match.computer_level)
        expected = choose_move(
            match.game, match.state, seat, level, move_seed(match.seed, match.seq)
        )
        assert move == expected
        assert move in get_game(match.game).legal_moves(match.state, seat)
    assert pool.started == 2
    pids = {w.process.pid for w in pool._running}
    assert len(pids) == 2 and all(pid is not None for pid in pids)


async def test_a_failed_search_fails_its_move_alone(pool: ComputerPool) -> None:
    match, seat = position("tictactoe", 1)
    with pytest.raises(ComputerError, match="ValueError"):
        await pool.choose(match, 1 - seat)  # the seat that may not move now
    assert await pool.choose(match, seat) in get_game("tictactoe").legal_moves(match.state, seat)
    assert pool.started == 2  # the worker lived on


async def test_a_dead_worker_is_replaced_and_its_move_asked_again(
    pool: ComputerPool, caplog: pytest.LogCaptureFixture
) -> None:
    match, seat = position("connect_four", 3)
    legal = get_game("connect_four").legal_moves(match.state, seat)
    assert await pool.choose(match, seat) in legal
    # Killed while idle: the next move goes to a new worker.
    idle = pool._running[0]
    idle.process.kill()
    await idle.process.wait()
    with caplog.at_level(logging.WARNING):
        moves = await asyncio.gather(*(pool.choose(match, seat) for _ in range(4)))
    assert all(move in legal for move in moves)
    assert "computer worker died" in caplog.text
    # Killed while it holds moves: they are asked again of another.
    asked = [asyncio.ensure_future(pool.choose(match, seat)) for _ in range(8)]
    await asyncio.sleep(0)
    busy = max(pool._running, key=lambda w: len(w.holding))
    assert busy.holding
    busy.process.kill()
    assert all(move in legal for move in await asyncio.gather(*asked))
    # Replaced when a move next needs a worker: at once if it died holding moves (each
    # asked again of the new one), or at the next move if the replies it had written
    # before the kill were all read first (a loaded machine), with none lost.
    await busy._reader
    assert busy.gone and not busy.holding
    assert await pool.choose(match, seat) in legal
    assert pool.started == 4


async def test_a_stopped_pool_leaves_no_process_and_plays_no_more() -> None:
    pool = ComputerPool(2)
    match, seat = position("card_jitsu", 5)
    await pool.choose(match, seat)
    processes = [w.process for w in pool._running]
    await pool.stop()
    assert all(p.returncode is not None for p in processes)
    with pytest.raises(WorkerGone):
        await pool.choose(match, seat)


def test_the_worker_answers_frame_by_frame_and_ends_with_its_input() -> None:
    match, seat = position("tictactoe", 2)
    request = (match.game, match.state, seat, "hard", 7)
    wrong_seat = (*request[:2], 1 - seat, "hard", 7)
    cut_short = frame((3, request))[:-1]  # the input ends mid-frame
    replies = io.BytesIO()
    serve(io.BytesIO(frame((1, request)) + frame((2, wrong_seat)) + cut_short), replies)
    out = replies.getvalue()
    answers = []
    while out:
        (size,) = HEADER.unpack(out[: HEADER.size])
        answers.append(pickle.loads(out[HEADER.size : HEADER.size + size]))
        out = out[HEADER.size + size :]
    assert answers[0] == (1, True, choose_move(*request))
    assert answers[1][:2] == (2, False) and "ValueError" in answers[1][2]
    assert len(answers) == 2


async def test_a_worker_whose_reply_does_not_decode_is_stopped_and_its_moves_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    garbage = (
        "import sys, time; sys.stdout.buffer.write(b'\\0\\0\\0\\3abc'); "
        "sys.stdout.flush(); time.sleep(60)"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", garbage,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    worker = _Worker(process)
    match, seat = position("tictactoe", 4)
    asked = worker.ask(1, (match.game, match.state, seat, "easy", 1))
    with caplog.at_level(logging.ERROR), pytest.raises(WorkerGone):
        await asyncio.wait_for(asked, 10)
    assert await asyncio.wait_for(process.wait(), 10) != 0  # killed, not left sleeping
    assert worker.gone and "unreadable reply" in caplog.text


async def test_a_ctrl_c_leaves_the_workers_to_the_node(pool: ComputerPool) -> None:
    """The workers are in a session of their own, out of the node's terminal's reach,
    and a SIGINT sent to one anyway leaves it running until the node ends its input."""
    match, seat = position("connect_four", 6)
    # Two moves at once, one to each worker: both have started (and ignore SIGINT).
    await asyncio.gather(pool.choose(match, seat), pool.choose(match, seat))
    assert {len(w.holding) for w in pool._running} == {0} and pool.started == 2
    for worker in pool._running:
        worker.process.send_signal(signal.SIGINT)
    await asyncio.sleep(0.5)
    assert all(w.process.returncode is None for w in pool._running)
    node_group = os.getpgid(0)
    assert all(os.getpgid(w.process.pid) != node_group for w in pool._running)
    assert await pool.choose(match, seat) in get_game("connect_four").legal_moves(match.state, seat)


NODE_WITH_WORKERS = """
import asyncio
from clubpengu.services.matches.computer_pool import ComputerPool

async def main():
    pool = ComputerPool(2)
    pool.warm()
    while len(pool._running) < 2:
        await asyncio.sleep(0.05)
    print(*(w.process.pid for w in pool._running), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_the_workers_of_a_node_killed_outright_exit_with_it() -> None:
    """A node killed with SIGKILL stops nothing itself: its end of the workers' input
    closes with it, and they exit."""
    node = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NODE_WITH_WORKERS, stdout=asyncio.subprocess.PIPE
    )
    assert node.stdout is not None
    line = await asyncio.wait_for(node.stdout.readline(), 60)
    workers = [int(pid) for pid in line.split()]
    assert len(workers) == 2
    node.kill()
    await node.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # A zombie (exited, not yet reaped by init) counts as gone.
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"

    await eventually(lambda: not any(alive(pid) for pid in workers), "workers gone", timeout=20)
