"""Run a callback as one MongoDB multi-document transaction, retried the way MongoDB's
driver specification (transactions-convenient-api) says, but with a short deadline.

- A `TransientTransactionError` (a write conflict with a concurrent transaction, a lost
  primary, a network error mid-transaction) aborts the attempt and runs the whole
  callback again after a jittered exponential backoff.
- An `UnknownTransactionCommitResult` on commit retries the *commit* only (committing
  twice is safe: the server commits at most once).
- Anything else aborts the transaction and propagates unchanged: a `DomainError`
  raised by the callback (insufficient funds, not found ...) or a `DuplicateKeyError`
  (the caller decides what a clash on a unique index means).

On the embedded database a committed transaction is not yet in the journal (SecantusDB
journals a commit only when every write pays for it); a runner given a `JournalBarrier`
waits for one after the commit, so what it returns survives a kill -9 of the database. If
that wait fails, the outcome is unknown: `Unavailable`, retry with the same key.

pymongo's own `ClientSession.with_transaction` does the same but keeps retrying for
120 s, far longer than a player waits for a purchase; here the policy is bounded in both
attempts and time, and running out raises `Unavailable` (code `unavailable`, "try
again"), which a client can retry safely with the same idempotency key. A server-selection
timeout is not retried: the driver has already waited MONGODB_SERVER_SELECTION_TIMEOUT_MS
for a usable database, so with the database gone a request is answered after that one
wait.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError, ServerSelectionTimeoutError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from clubpengu.db import JournalBarrier
from clubpengu.errors import Unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
Session = AsyncClientSession
TransactionCallback = Callable[[Session], Awaitable[T]]

TRANSIENT = "TransientTransactionError"
UNKNOWN_COMMIT = "UnknownTransactionCommitResult"
_MAX_TIME_MS_EXPIRED = 50  # a commit that timed out on the server is not retried
ABORT_WAIT_SECONDS = 1.0


async def _abort(session: Session) -> None:
    """Abort, best effort (pymongo ignores the errors of an abort), waiting at most
    ABORT_WAIT_SECONDS for a server. When the database has just gone the abort cannot be
    sent anyway, and the caller would wait a whole server-selection timeout for it before
    the retry waits another; the server drops the transaction itself when the session's
    next transaction starts, or at its lifetime limit."""
    with pymongo.timeout(ABORT_WAIT_SECONDS):
        await session.abort_transaction()


def found_no_server(error: BaseException | None) -> bool:
    """Whether the driver waited its whole server-selection timeout for a usable server and
    found none. The error is then a ServerSelectionTimeoutError, or, when it was the retry
    of a failed operation that found no server (a commit cut off by a dying database),
    the operation's first error, raised with the ServerSelectionTimeoutError as its
    context (the retryable-writes specification: never report a retry's selection
    failure as if the operation had not been attempted)."""
    if error is None:
        return False
    return isinstance(error, ServerSelectionTimeoutError) or isinstance(
        error.__context__, ServerSelectionTimeoutError
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How long a transaction keeps retrying. Backoff for attempt n (1-based) is a uniform
    random fraction of min(initial * 2**(n-1), maximum), so contenders spread out."""

    max_attempts: int = 60
    deadline_seconds: float = 10.0
    backoff_initial: float = 0.002
    backoff_max: float = 0.1

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        ceiling: float = min(self.backoff_initial * 2.0 ** (attempt - 1), self.backoff_max)
        return rng() * ceiling


class TransactionRunner:
    """Runs callbacks in transactions on one client; see the module docstring.

    `sleep` and `monotonic` are injectable so a test can run the policy without waiting;
    `journal` (db.journal_barrier) is waited for after each commit when given.
    """

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        journal: JournalBarrier | None = None,
    ) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()
        self.journal = journal
        self._sleep = sleep
        self._monotonic = monotonic

    async def run(self, callback: TransactionCallback[T]) -> T:
        """Run `callback(session)` in a transaction and commit; return its result.

        The callback may run more than once (after a transient error), so it must only
        write through `session` and keep no other side effects. Raises whatever the
        callback raises (after aborting), or `Unavailable` when the retries run out.
        """
        started = self._monotonic()
        async with self.client.start_session() as session:
            attempt = 0
            while True:
                attempt += 1
                try:
                    result = await self._attempt(session, callback, started)
                    break
                except PyMongoError as error:
                    if not error.has_error_label(TRANSIENT):
                        raise
                    await self._before_retry(error, attempt, started, "transaction")
        await self.journaled()
        return result

    async def journaled(self) -> None:
        """Wait until the commit (or any write acknowledged before the call) is in the
        journal (embedded database only). Raises Unavailable when that wait fails."""
        if self.journal is None:
            return
        try:
            await self.journal.wait()
        except PyMongoError as error:
            logger.warning("journal barrier failed", extra={"error": type(error).__name__})
            raise Unavailable(
                "The result is not known yet; send the request again with the same key"
            ) from error

    async def _attempt(
        self, session: Session, callback: TransactionCallback[T], started: float
    ) -> T:
        await session.start_transaction(
            read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
        )
        try:
            result = await callback(session)
        except BaseException:
            if session.in_transaction:
                await _abort(session)
            raise
        await self._commit(session, started)
        return result

    async def _commit(self, session: Session, started: float) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await session.commit_transaction()
                return
            except PyMongoError as error:
                code = getattr(error, "code", None)
                if not error.has_error_label(UNKNOWN_COMMIT) or code == _MAX_TIME_MS_EXPIRED:
                    raise
                await self._before_retry(error, attempt, started, "commit")

    async def _before_retry(
        self, error: PyMongoError, attempt: int, started: float, what: str
    ) -> None:
        """Sleep before the next attempt, or raise Unavailable when the policy is spent."""
        delay = self.policy.backoff(attempt)
        elapsed = self._monotonic() - started
        # No usable server after the driver's whole server-selection wait: another attempt
        # would only make the caller wait as long again for the same answer.
        no_database = found_no_server(error)
        spent = (
            attempt >= self.policy.max_attempts or elapsed + delay > self.policy.deadline_seconds
        )
        if no_database or spent:
            logger.warning(
                "transaction retries exhausted",
                extra={"what": what, "attempts": attempt, "error": type(error).__name__},
            )
            message = (
                "The result is not known yet; send the request again with the same key"
                if what == "commit"
                else None
            )
            raise Unavailable(message, attempts=attempt) from error
        logger.debug("retrying %s after %s", what, type(error).__name__, extra={"attempt": attempt})
        await self._sleep(delay)
