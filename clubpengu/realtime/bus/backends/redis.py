"""The Redis bus (REDIS_URL): room traffic, kicks and pushes between nodes over pub/sub.

As encode/broadcaster's redis backend does, one subscriber connection multiplexes every
channel this node listens on; each local `subscribe` gets its own queue, and the channel
is subscribed in Redis while it has at least one local subscriber.

Publishing never waits on Redis: `publish` (and `send`, for other fire-and-forget
commands) appends to a bounded outbox that one task drains in pipelines — one round trip
for everything queued, in order — so the tick and the handlers never block on the network.
While Redis is unreachable, or the outbox is full, messages are dropped and counted (pub/sub
is at-most-once anyway; nothing durable depends on it).

Losing Redis: the subscriber task notices (the connection ends, a command fails, or the
connection stays silent for REDIS_TIMEOUT although pinged), marks the bus down, and
reconnects with exponential backoff between REDIS_RECONNECT_MIN and REDIS_RECONNECT_MAX.
Once back it subscribes again to every channel that has local subscribers and runs the
`on_reconnect` callbacks (the sessions republish their owners). Local subscribers only
notice the messages that were lost meanwhile; nothing is raised into them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from clubpengu.metrics import Metrics

logger = logging.getLogger(__name__)
PIPELINE_BATCH = 1000  # commands per round trip at most
DROP_LOG_SECONDS = 10.0  # at most one warning about dropped messages this often

Command = tuple[Any, ...]


async def _drain(queue: asyncio.Queue[bytes]) -> AsyncIterator[bytes]:
    while True:
        yield await queue.get()


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel and wait; cancel again if a library swallowed the first one."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


class RedisBus:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        reconnect_min: float = 0.1,
        reconnect_max: float = 5.0,
        queue_limit: int = 10_000,
        metrics: Metrics | None = None,
    ) -> None:
        self.timeout = timeout
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.queue_limit = queue_limit
        # redis-py's own retries would hold a caller for seconds; this bus retries itself.
        # Every call here is bounded by asyncio.timeout rather than redis-py's
        # socket_timeout, which sends through asyncio.wait_for: on Python 3.11 that can
        # swallow a task's cancellation, and then a stopping node would never stop.
        self.client: Redis = Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
        )
        self.up = False
        self._closing = False
        self.published = 0
        self.dropped = 0
        self.reconnects = 0
        self.on_reconnect: list[Callable[[], Awaitable[None]]] = []
        # A channel of its own keeps the subscriber connection open with no other channel.
        self._own_channel = f"bus:{secrets.token_hex(8)}"
        self._subscribers: dict[str, set[asyncio.Queue[bytes]]] = {}
        self._confirmations: dict[str, asyncio.Event] = {}
        self._pubsub: PubSub | None = None
        self._lock = asyncio.Lock()  # subscription changes, in order, one at a time
        self._outbox: deque[Command] = deque()
        self._outbox_ready = asyncio.Event()
        self._outbox_empty = asyncio.Event()
        self._outbox_empty.set()
        self._callbacks: set[asyncio.Task[None]] = set()
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_heard = 0.0
        self._drops_unlogged = 0
        self._drop_logged_at = 0.0
        # Publish round trips are timed here; up and reconnects are read when scraped.
        self.metrics = metrics or Metrics()
        self.metrics.watch_redis(lambda: 1 if self.up else 0, lambda: self.reconnects)

    # --- the EventBus protocol ------------------------------------------------------------

    async def connect(self) -> None:
        """Start the subscriber and the publisher; wait up to REDIS_TIMEOUT for Redis. A
        node whose Redis is down starts anyway (degraded) and keeps trying."""
        self._tasks = [
            asyncio.create_task(self._subscriber(), name="redis-subscriber"),
            asyncio.create_task(self._publisher(), name="redis-publisher"),
        ]
        try:
            async with asyncio.timeout(self.timeout):
                await self._connected.wait()
        except TimeoutError:
            logger.warning("redis unreachable at start-up; serving local players only")

    async def disconnect(self) -> None:
        """Publish what is queued (briefly), then stop and close the connections."""
        if self.up:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timeout):
                    await self._outbox_empty.wait()
        self._closing = True
        for task in self._tasks:
            await _cancel(task)
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.client.aclose()

    async def publish(self, channel: str, message: bytes) -> None:
        self.send("PUBLISH", channel, message)

    def send(self, *command: Any) -> None:
        """Queue a fire-and-forget command behind the publications (same order, same
        round trips); dropped and counted when Redis is down or the outbox is full."""
        if not self.up or len(self._outbox) >= self.queue_limit:
            self._drop(1, "redis down" if not self.up else "outbox full")
            return
        self._outbox.append(command)
        self._outbox_empty.clear()
        self._outbox_ready.set()

    async def drained(self) -> None:
        """Wait until every queued command has been sent (or dropped); callers bound it."""
        await self._outbox_empty.wait()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        await self._add(channel, queue)
        try:
            yield _drain(queue)
        finally:
            await self._remove(channel, queue)

    async def healthy(self) -> bool:
        if not self.up:
            return False
        try:
            async with asyncio.timeout(min(self.timeout, 1.0)):
                await self.client.ping()
        except Exception:
            return False
        return True

    # --- subscriptions --------------------------------------------------------------------

    async def _add(self, channel: str, queue: asyncio.Queue[bytes]) -> None:
        async with self._lock:
            subscribers = self._subscribers.setdefault(channel, set())
            subscribers.add(queue)
            if len(subscribers) > 1 or self._pubsub is None:
                return  # already subscribed, or subscribed on the next (re)connect
            confirmed = self._confirmations[channel] = asyncio.Event()
            if not await self._command(self._pubsub.subscribe(channel)):
                return
        # Redis confirms on the subscriber connection; publications to the channel are
        # delivered from then on (a publish sent before might not be).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout):
                await confirmed.wait()

    async def _remove(self, channel: str, queue: asyncio.Queue[bytes]) -> None:
        async with self._lock:
            subscribers = self._subscribers.get(channel)
            if subscribers is None:
                return
            subscribers.discard(queue)
            if subscribers:
                return
            del self._subscribers[channel]
            if self._pubsub is not None:
                await self._command(self._pubsub.unsubscribe(channel))

    async def _command(self, command: Awaitable[Any]) -> bool:
        """A subscription command on the subscriber connection; a failure is left to the
        subscriber task, which notices the lost connection and starts over."""
        try:
            async with asyncio.timeout(self.timeout):
                await command
        except Exception:
            logger.debug("redis subscription command failed", exc_info=True)
            return False
        return True

    # --- the subscriber connection --------------------------------------------------------

    async def _subscriber(self) -> None:
        delay = self.reconnect_min
        while not self._closing:
            pubsub = self.client.pubsub()
            try:
                await self._open(pubsub)
                delay = self.reconnect_min
                await self._watch(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._lost(error)
            finally:
                self.up = False
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                # The pooled connections lead to the Redis that went away (perhaps a
                # restarted one by now): commands must not try them first.
                with contextlib.suppress(Exception):
                    await self.client.connection_pool.disconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max)

    async def _open(self, pubsub: PubSub) -> None:
        """Subscribe to every channel with local subscribers; then the bus is up."""
        async with self._lock:
            async with asyncio.timeout(self.timeout):
                await pubsub.subscribe(self._own_channel, *self._subscribers)
            self._pubsub = pubsub
            self._last_heard = time.monotonic()
            self.up = True
        if self._connected.is_set():
            self.reconnects += 1
            logger.info(
                "redis reconnected; subscriptions restored",
                extra={"channels": len(self._subscribers)},
            )
        self._connected.set()
        for callback in self.on_reconnect:
            # Run beside the reader: a callback may wait on replies the reader delivers.
            task = asyncio.create_task(self._run_callback(callback), name="redis-on-reconnect")
            self._callbacks.add(task)
            task.add_done_callback(self._callbacks.discard)

    async def _run_callback(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run an `on_reconnect` callback (they are idempotent), again with backoff if it
        fails, for as long as the bus stays up."""
        delay = self.reconnect_min
        while self.up and not self._closing:
            try:
                await callback()
                return
            except Exception:
                logger.warning("redis reconnect callback failed; retrying", exc_info=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max)

    def _lost(self, error: Exception) -> None:
        """Warn once when the bus goes down; failed reconnect attempts are debug lines."""
        extra = {"error": type(error).__name__}
        if self.up:
            logger.warning(
                "redis connection lost; serving local players, reconnecting", extra=extra
            )
        else:
            logger.debug("redis still unreachable", extra=extra)

    async def _watch(self, pubsub: PubSub) -> None:
        """Read until the connection fails. Every half of REDIS_TIMEOUT a quiet connection
        is pinged; one silent for the whole of it is given up (Redis paused, or the
        network path is gone without a reset)."""
        reader = asyncio.create_task(self._read(pubsub), name="redis-reader")
        interval = self.timeout / 2
        woke = time.monotonic()
        try:
            while not self._closing:
                done, _ = await asyncio.wait({reader}, timeout=interval)
                if done:
                    reader.result()
                    raise ConnectionError("redis subscription ended")
                now = time.monotonic()
                stalled_here = now - woke > interval * 1.5  # this loop was late itself
                woke = now
                silent = now - self._last_heard
                if silent >= self.timeout and not stalled_here:
                    raise ConnectionError("redis stopped answering")
                if silent >= interval / 2:  # quiet channels: the pong is the sign of life
                    await self._command(pubsub.ping())
        finally:
            await _cancel(reader)

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=None)
            self._last_heard = time.monotonic()
            if message is None:
                continue
            kind = message["type"]
            if kind == "message":
                channel = message["channel"].decode()
                for queue in self._subscribers.get(channel, ()):
                    queue.put_nowait(message["data"])
            elif kind == "subscribe":
                event = self._confirmations.pop(message["channel"].decode(), None)
                if event is not None:
                    event.set()

    # --- the publisher --------------------------------------------------------------------

    async def _publisher(self) -> None:
        outbox = self._outbox
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while outbox:
                batch = [outbox.popleft() for _ in range(min(len(outbox), PIPELINE_BATCH))]
                if not self.up:
                    self._drop(len(batch), "redis down")
                    continue
                await self._flush(batch)
            self._outbox_empty.set()

    async def _flush(self, batch: list[Command]) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                pipe = self.client.pipeline(transaction=False)
                for command in batch:
                    pipe.execute_command(*command)
                results = await pipe.execute(raise_on_error=False)
        except Exception as error:
            self._drop(len(batch), type(error).__name__)
            return
        self.metrics.redis_published(time.perf_counter() - started)
        self.published += len(batch)
        failed = [r for r in results if isinstance(r, ResponseError)]
        if failed:
            logger.error("redis refused commands", extra={"count": len(failed)})

    def _drop(self, count: int, why: str) -> None:
        """Count dropped messages; warn at most once every DROP_LOG_SECONDS."""
        self.dropped += count
        self._drops_unlogged += count
        now = time.monotonic()
        if now - self._drop_logged_at >= DROP_LOG_SECONDS:
            logger.warning(
                "redis messages dropped",
                extra={"dropped": self._drops_unlogged, "total": self.dropped, "why": why},
            )
            self._drops_unlogged, self._drop_logged_at = 0, now
