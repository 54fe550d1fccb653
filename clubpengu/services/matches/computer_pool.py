"""Where the computer's moves are computed: COMPUTER_WORKERS processes of their own (a
search holds the GIL for up to a few hundred ms, which in a thread would stall every
room's tick), or one thread of the node's process when it is 0.

Each worker (`clubpengu.games.computer.worker`) is a child process spoken to over its
stdin and stdout, and those pipes are read and written by the event loop itself. Not a
`ProcessPoolExecutor`: its hand-over goes through two threads of the node's process (the
queue's feeder and the pool's manager), and each needs the GIL from an event loop that
is busy with the rooms, and gets it only every switch interval (5 ms). Measured with the
loop 80 % busy, a move of well under a millisecond came back after 2.5 ms at the median
but 10.7 s at p99 through the executor, 2.1 ms and 3.1 ms through the pipes
(docs/performance.md#the-computers-hand-over).

- The workers start with the first match against the computer (`warm`), so a node
  nobody plays the computer on runs no extra process. They run niced (WORKER_NICE): a
  search may wait a little for a core, the rooms' ticks may not.
- A move goes to the worker with the fewest moves in hand; at most QUEUED_PER_WORKER
  moves per worker are handed over at once, the rest wait their turn on the event loop.
- A worker that dies fails the moves it held (`WorkerGone`); the move asked is asked
  once more of a new worker, started in its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import count

from clubpengu.games.base import Move, State
from clubpengu.games.computer import choose_move, move_seed
from clubpengu.games.computer.worker import HEADER, frame
from clubpengu.models import Match

logger = logging.getLogger(__name__)
QUEUED_PER_WORKER = 16
WORKER_NICE = 5
WORKER_MODULE = "clubpengu.games.computer.worker"
STOP_SECONDS = 2.0

# choose_move's arguments: game id, state, seat, level, seed.
Request = tuple[str, State, int, str, int]


class WorkerGone(Exception):
    """The worker process ended while it held the move, or the pool is stopped."""


class ComputerError(Exception):
    """The worker's search raised (its type and message)."""


def _log_failed_start(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("computer workers did not start", exc_info=task.exception())


class _Worker:
    """One worker process and the moves it holds, by request id."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.holding: dict[int, asyncio.Future[Move]] = {}
        self.gone = False
        self._reader = asyncio.create_task(self._read(), name="computer-worker")

    def ask(self, request_id: int, args: Request) -> asyncio.Future[Move]:
        future: asyncio.Future[Move] = asyncio.get_running_loop().create_future()
        if self.gone or self.process.stdin is None:
            future.set_exception(WorkerGone())
            return future
        self.holding[request_id] = future
        self.process.stdin.write(frame((request_id, args)))
        return future

    async def _read(self) -> None:
        assert self.process.stdout is not None
        replies = self.process.stdout
        try:
            while True:
                (size,) = HEADER.unpack(await replies.readexactly(HEADER.size))
                request_id, ok, result = pickle.loads(await replies.readexactly(size))
                future = self.holding.pop(request_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(result)
                else:
                    future.set_exception(ComputerError(result))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker ended
        except Exception:
            # A reply that does not decode: the stream cannot be trusted past it.
            logger.exception("computer worker sent an unreadable reply; stopping it")
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        finally:
            self.gone = True
            for future in self.holding.values():
                if not future.done():
                    future.set_exception(WorkerGone())
            self.holding.clear()

    async def stop(self) -> None:
        """End its input (the worker exits), then wait for it; killed if it does not."""
        self.gone = True
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        await self._reader


class ComputerPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._thread: ThreadPoolExecutor | None = None
        self._running: list[_Worker] = []
        self._starting: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(max(workers, 1) * QUEUED_PER_WORKER)
        self._ids = count()
        self.started = 0  # worker processes started, replacements included
        self._stopped = False

    def warm(self) -> None:
        """Start the workers now, without waiting, so that the first move does not pay for
        their start."""
        if self.workers and self._starting is None:
            self._start_more()

    def _start_more(self) -> asyncio.Task[None]:
        """Start workers up to `workers` (once at a time); a start that fails is logged
        here and fails the moves waiting for it."""
        if self._starting is None or self._starting.done():
            self._starting = asyncio.create_task(self._start(), name="computer-workers")
            self._starting.add_done_callback(_log_failed_start)
        return self._starting

    async def _start(self) -> None:
        while len(self._running) < self.workers:
            # A session of its own: a Ctrl-C in the node's terminal is for the node, which
            # stops its workers itself (and the worker ignores a SIGINT sent to it).
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", WORKER_MODULE, str(WORKER_NICE),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                start_new_session=True,
            )  # fmt: skip
            self._running.append(_Worker(process))
            self.started += 1

    async def _worker(self) -> _Worker:
        """The running worker with the fewest moves in hand; dead ones are replaced.
        Raises WorkerGone once the pool is stopped."""
        if self._stopped:
            raise WorkerGone()
        if any(w.gone for w in self._running):
            logger.warning("computer worker died; starting another")
            for worker in self._running:
                if worker.gone and worker.process.stdin is not None:
                    worker.process.stdin.close()  # its pipe, not left to the collector
            self._running = [w for w in self._running if not w.gone]
        if len(self._running) < self.workers:
            await asyncio.shield(self._start_more())
        return min(self._running, key=lambda w: len(w.holding))

    async def choose(self, match: Match, seat: int) -> Move:
        """The computer's move in `seat` of `match` as it is now. Raises ComputerError when
        the search fails; a worker that died holding the move is replaced, and the move
        asked of the new one."""
        level = str(match.computer_level or "normal")
        args: Request = (match.game, match.state, seat, level, move_seed(match.seed, match.seq))
        async with self._slots:
            if not self.workers:
                return await self._in_thread(args)
            try:
                return await (await self._worker()).ask(next(self._ids), args)
            except WorkerGone:
                return await (await self._worker()).ask(next(self._ids), args)

    async def _in_thread(self, args: Request) -> Move:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="computer")
        work = partial(choose_move, *args)
        move: Move = await asyncio.get_running_loop().run_in_executor(self._thread, work)
        return move

    async def stop(self) -> None:
        """Let the workers go (moves they hold fail with WorkerGone: they would come too
        late)."""
        self._stopped = True
        if self._starting is not None:
            # Not cancelled: a worker spawned but not yet listed would be left running.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._starting)
            self._starting = None
        running, self._running = self._running, []
        await asyncio.gather(*(w.stop() for w in running))
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
            self._thread = None
