"""Erasing a wallet's data (docs/privacy.md, "Erasure"): a job per wallet, run step by step.

Staff erase at once (`POST /admin/users/{wallet}/erase`, `clubpengu admin erase`); a player
asks over the WebSocket and the job waits ERASURE_GRACE, during which signing in shows the
date and `data_erasure_cancel` calls it off. A due job is run by the node that finds it
(ERASURE_SWEEP_INTERVAL) under a lease, so two nodes do not both run it.

The steps, in order, each recorded in the job once done (a job stopped half-way is finished
by running it again, and every step is safe to repeat):

1. `revoke`: every session of the wallet revoked, its connections closed with 4003 on every
   node (the path staff revocations take), and this node's batched writes flushed;
2. `close_ledger`: the balance taken to zero by an `erasure` ledger entry, so the wallet's
   entries sum to zero and the coins leave the economy on the record;
3. one step per collection of the registry (services/data_registry.py), in its order:
   pseudonymised ones, deleted ones, and the user last.

The job then drops the wallet and keeps its tombstone. The wallet may sign in again later:
it is a new player.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient, ReplaceOne
from pymongo.errors import DuplicateKeyError

from clubpengu.errors import InsufficientFunds, InvalidMessage, NotFound
from clubpengu.models import ErasureJob
from clubpengu.models.base import utcnow
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.services.audit import AuditTrail, Staff
from clubpengu.services.auth import ERASING, AuthService, decode_wallet, short
from clubpengu.services.data_registry import (
    POLICIES,
    TOMBSTONE_PREFIX,
    Erase,
    Policy,
    pseudonymised,
)
from clubpengu.services.economy import EconomyService
from clubpengu.services.keyed_hash import KeyedHash
from clubpengu.services.sanctions import check_reason

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
# How far back `notice` looks before its last look: the clocks of the CLI and the node
# may disagree a little, and a job's start is written just after its clock was read.
NOTICE_OVERLAP = timedelta(minutes=1)
BATCH = 500
CLOSE_WAIT = 5.0  # seconds this node waits for the wallet's connections to end
ERASURE_TYPE = "erasure"  # the ledger entry that closes the balance
PLAYER = "player"
PENDING, RUNNING, DONE, CANCELLED = "pending", "running", "done", "cancelled"
REVOKE, CLOSE_LEDGER, RECHECK = "revoke", "close_ledger", "recheck"
UNLINK = "unlink"  # the wallet leaves other players' lists (buddies), told to them
USERS = "users"


class Action:
    """The audit actions of this module."""

    ERASE = "data.erase"
    REQUEST = "data.erase_request"
    CANCEL = "data.erase_cancel"
    EXPORT = "data.export"


Flush = Callable[[], Awaitable[object]]
Unlink = Callable[[str], Awaitable[object]]


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[ErasureJob], Awaitable[int]]


def public_job(job: ErasureJob) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "jobId": str(job.id),
        "tombstone": job.tombstone,
        "status": job.status,
        "requestedBy": job.requested_by,
        "source": job.source,
        "requestedAt": iso(job.requested_at),
        "dueAt": iso(job.due_at),
        "stepsDone": list(job.steps_done),
        "counts": dict(job.counts),
        "finishedAt": iso(job.finished_at),
    }


class ErasureService:
    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        auth: AuthService,
        economy: EconomyService,
        audit: AuditTrail,
        live: SessionRegistry | None,
        *,
        secret: str,
        grace: timedelta,
        flushes: Sequence[Flush] = (),
        unlinks: Sequence[Unlink] = (),
        clock: Callable[[], datetime] = utcnow,
        policies: Sequence[Policy] = POLICIES,
    ) -> None:
        self.db = client[db_name]
        self.jobs = self.db[ErasureJob.Settings.name]
        self.auth, self.economy, self.audit, self.live = auth, economy, audit, live
        self.grace = grace
        self.flushes = list(flushes)
        self.unlinks = list(unlinks)
        self.clock = clock
        self.policies = list(policies)
        self._tombstones = KeyedHash(secret, "erasure-tombstone")
        self._noticed: dict[ObjectId, datetime] = {}  # jobs `notice` has looked at
        self._noticed_until: datetime | None = None

    def tombstone(self, wallet: str) -> str:
        """The wallet's stand-in in what is kept: the same for the same wallet (so its
        kept records still belong together), not reversible without the server secret."""
        return TOMBSTONE_PREFIX + self._tombstones.hex(wallet)[:32]

    def steps(self) -> list[Step]:
        steps = [
            Step(REVOKE, self._revoke),
            Step(CLOSE_LEDGER, self._close_ledger),
            Step(UNLINK, self._unlink),
        ]
        deleted = []
        for policy in self.policies:
            if policy.erase is Erase.PSEUDONYMISE:
                steps.append(Step(policy.collection, self._pseudonymiser(policy)))
            elif policy.collection == USERS:
                steps.append(Step(USERS, self._empty_user))
            elif policy.erase is Erase.DELETE:
                deleted.append(self._deleter(policy))
                steps.append(Step(policy.collection, deleted[-1]))
        steps.append(Step(RECHECK, self._recheck(deleted)))
        return steps

    # --- requests -------------------------------------------------------------------------

    async def erase_now(self, staff: Staff, wallet: str, reason: Any) -> ErasureJob:
        """Staff: erase at once (a pending request of the player's is taken over). Audited,
        then run; raises InvalidMessage for a bad wallet or reason."""
        _check_wallet(wallet)
        text = check_reason(reason)
        now = self.clock()
        job, _ = await self._open_job(wallet, staff.actor, staff.source, text, now)
        await self.jobs.update_one(
            {"_id": job.id, "status": PENDING},
            {"$set": {"dueAt": now, "reason": text, "requestedBy": staff.actor,
                      "source": staff.source}},
        )  # fmt: skip
        # Named by its tombstone: a second run, after the audit step of the first, would
        # otherwise leave the wallet in the trail.
        await self.audit.record(
            staff.actor, staff.role, Action.ERASE, job.tombstone, text, source=staff.source,
            jobId=str(job.id),
        )  # fmt: skip
        assert job.id is not None
        return await self.run(job.id)

    async def request(self, wallet: str) -> ErasureJob:
        """The player's own request: due after the grace. Asking again changes nothing."""
        now = self.clock()
        due = now + self.grace
        job, made = await self._open_job(wallet, PLAYER, PLAYER, "the player's request", due)
        if made:
            await self.db["users"].update_one(
                {"walletAddress": wallet}, {"$set": {"erasureDueAt": job.due_at}}
            )
            await self.audit.record(
                f"player:{wallet}", None, Action.REQUEST, wallet, "the player's request",
                source=PLAYER, dueAt=job.due_at.isoformat(), jobId=str(job.id),
            )  # fmt: skip
        return job

    async def cancel(self, wallet: str) -> ErasureJob:
        """Call off the wallet's pending erasure; raises NotFound when there is none (or it
        has started)."""
        now = self.clock()
        raw = await self.jobs.find_one({"walletAddress": wallet, "status": PENDING})
        if raw is None:
            raise NotFound("No pending erasure to cancel")
        result = await self.jobs.update_one(
            {"_id": raw["_id"], "status": PENDING},
            {"$set": {"status": CANCELLED, "cancelledAt": now},
             "$unset": {"walletAddress": "", "username": ""}},
        )  # fmt: skip
        if result.modified_count != 1:
            raise NotFound("No pending erasure to cancel")
        await self.db["users"].update_one(
            {"walletAddress": wallet}, {"$unset": {"erasureDueAt": ""}}
        )
        await self.audit.record(
            f"player:{wallet}", None, Action.CANCEL, wallet, "the player cancelled",
            source=PLAYER, jobId=str(raw["_id"]),
        )  # fmt: skip
        job: ErasureJob = ErasureJob.model_validate(raw | {"status": CANCELLED, "cancelledAt": now})
        job.wallet_address = None
        return job

    async def pending(self, wallet: str) -> ErasureJob | None:
        raw = await self.jobs.find_one({"walletAddress": wallet})
        return ErasureJob.model_validate(raw) if raw is not None else None

    async def _open_job(
        self, wallet: str, by: str, source: str, reason: str, due: datetime
    ) -> tuple[ErasureJob, bool]:
        """The wallet's open job, made if there is none (one per wallet: unique index), and
        whether this call made it."""
        for _ in range(3):
            raw = await self.jobs.find_one({"walletAddress": wallet})
            if raw is not None:
                return ErasureJob.model_validate(raw), False
            job = ErasureJob(
                wallet_address=wallet, tombstone=self.tombstone(wallet), reason=reason,
                requested_by=by, source=source, requested_at=self.clock(), due_at=due,
            )  # fmt: skip
            try:
                await job.insert()
            except DuplicateKeyError:
                continue  # made meanwhile by another request: take that one
            return job, True
        raise RuntimeError("could not open an erasure job")

    # --- running --------------------------------------------------------------------------

    async def sweep(self) -> int:
        """The node's periodic look at the jobs (ERASURE_SWEEP_INTERVAL): close the
        connections of wallets whose erasure another process started (`notice`), then run
        the due jobs; the number run to the end."""
        await self.notice()
        return await self.run_due()

    async def notice(self) -> int:
        """Close this node's connections of wallets whose erasure started since the last
        look, however it was started (the CLI without Redis reaches no node by itself);
        the number closed. One query on the jobs' start; a job is looked at once."""
        if self.live is None:
            return 0
        now = self.clock()
        since = self._noticed_until if self._noticed_until is not None else now
        self._noticed_until = now
        self._noticed = {k: t for k, t in self._noticed.items() if t >= since - NOTICE_OVERLAP}
        closed = 0
        query = {"startedAt": {"$gte": since - NOTICE_OVERLAP}}
        async for raw in self.jobs.find(
            query, {"walletAddress": 1, "tombstone": 1, "startedAt": 1}
        ):
            if raw["_id"] in self._noticed:
                continue
            started: datetime = raw["startedAt"]
            self._noticed[raw["_id"]] = started
            if raw.get("walletAddress"):
                wallets = [raw["walletAddress"]]
            else:  # done: the job keeps only the tombstone
                wallets = [w for w in self.live.wallets() if self.tombstone(w) == raw["tombstone"]]
            for wallet in wallets:
                closed += await self.live.erase_here(wallet, started)
                if wallet in self.live.erased:  # no new player of the wallet here
                    await self._delete_left(wallet)
        return closed

    async def _delete_left(self, wallet: str) -> None:
        """What this node wrote of the wallet before it heard of the erasure (a join's
        event flushed after the job's deletes, when the job ran elsewhere): written out,
        then deleted again. The node's writes after this are dropped (`live.erased`)."""
        for flush in self.flushes:
            await flush()
        for policy in self.policies:
            if policy.erase is Erase.DELETE and policy.collection != USERS:
                await self.db[policy.collection].delete_many(policy.find(wallet))

    async def run_due(self) -> int:
        """Run every job that is due (and any left running by a node that stopped): the
        number finished."""
        now = self.clock()
        query = {
            "$or": [
                {"status": PENDING, "dueAt": {"$lte": now}},
                {"status": RUNNING, "leaseUntil": {"$lt": now}},
            ]
        }
        finished = 0
        async for raw in self.jobs.find(query, {"_id": 1}):
            try:
                job = await self.run(raw["_id"])
            except Exception:
                logger.exception("erasure job failed; it will be run again")
                continue
            finished += job.status == DONE
        return finished

    async def run(self, job_id: ObjectId) -> ErasureJob:
        """Carry out the steps of the job not yet done, in order; the job as it ends. A job
        another node holds (its lease not run out) is left to it."""
        now = self.clock()
        claimed = await self.jobs.update_one(
            {
                "_id": job_id,
                "status": {"$in": [PENDING, RUNNING]},
                "$or": [{"leaseUntil": None}, {"leaseUntil": {"$lt": now}}],
            },
            {"$set": {"status": RUNNING, "leaseUntil": now + LEASE}, "$inc": {"attempts": 1}},
        )
        job = await self._job(job_id)
        if claimed.modified_count != 1 or job.wallet_address is None:
            return job
        if job.started_at is None:
            job.username = await self._username(job.wallet_address)
            job.started_at = now
            await self.jobs.update_one(
                {"_id": job_id}, {"$set": {"startedAt": now, "username": job.username}}
            )
        logger.info("erasure started", extra={"wallet": short(job.wallet_address)})
        try:
            await self._mark_user(job)
            await self._steps(job)
        except BaseException:
            # Let the next run (the sweep, or staff erasing again) take it over at once; a
            # node that dies here leaves the lease to run out instead.
            await self.jobs.update_one({"_id": job_id}, {"$set": {"leaseUntil": None}})
            raise
        # The stand-in goes last: from here the wallet may sign in, as a new player.
        await self.db[USERS].delete_one(
            {"walletAddress": job.wallet_address, ERASING: {"$ne": None}}
        )
        await self.jobs.update_one(
            {"_id": job_id},
            {"$set": {"status": DONE, "finishedAt": self.clock(), "leaseUntil": None},
             "$unset": {"walletAddress": "", "username": ""}},
        )  # fmt: skip
        logger.info("erasure done", extra={"tombstone": job.tombstone})
        return await self._job(job_id)

    async def _steps(self, job: ErasureJob) -> None:
        for step in self.steps():
            if step.name in job.steps_done:
                continue
            count = await step.run(job)
            job.steps_done.append(step.name)
            await self.jobs.update_one(
                {"_id": job.id},
                {
                    "$addToSet": {"stepsDone": step.name},
                    "$set": {f"counts.{step.name}": count, "leaseUntil": self.clock() + LEASE},
                },
            )

    async def _job(self, job_id: ObjectId) -> ErasureJob:
        raw = await self.jobs.find_one({"_id": job_id})
        if raw is None:
            raise NotFound("No such erasure job")
        job: ErasureJob = ErasureJob.model_validate(raw)
        return job

    async def _username(self, wallet: str) -> str | None:
        user = await self.db["users"].find_one({"walletAddress": wallet}, {"username": 1})
        return user.get("username") if user else None

    # --- the steps ------------------------------------------------------------------------

    def _stand_in(self, job: ErasureJob) -> dict[str, Any]:
        """The User a wallet has while its erasure runs, once its own is emptied (or when
        it had none): `erasingSince` refuses its sign-ins and joins (services/auth.py), and
        it holds nothing but the wallet, which the job's end deletes with it."""
        assert job.started_at is not None
        return {
            "walletAddress": _wallet(job), "username": job.tombstone,
            "usernameLower": job.tombstone, ERASING: job.started_at,
            "createdAt": job.started_at, "updatedAt": job.started_at,
        }  # fmt: skip

    async def _mark_user(self, job: ErasureJob) -> None:
        """Before any step: the wallet's User marked as being erased (a stand-in made when
        there is none), so no sign-in makes new data while the job runs."""
        stand_in = self._stand_in(job)
        fresh = {k: v for k, v in stand_in.items() if k not in ("walletAddress", ERASING)}
        await self.db[USERS].update_one(
            {"walletAddress": _wallet(job)},
            {"$set": {ERASING: stand_in[ERASING]}, "$setOnInsert": fresh},
            upsert=True,
        )

    async def _empty_user(self, job: ErasureJob) -> int:
        """The user step: the User replaced by its stand-in (deleted when the job ends)."""
        result = await self.db[USERS].replace_one(
            {"walletAddress": _wallet(job)}, self._stand_in(job), upsert=True
        )
        return result.matched_count

    def _recheck(
        self, deleters: list[Callable[[ErasureJob], Awaitable[int]]]
    ) -> Callable[[ErasureJob], Awaitable[int]]:
        """The deletes once more, after the user: what another node wrote meanwhile (a
        leave's event, a chat line still batched) is gone too."""

        async def recheck(job: ErasureJob) -> int:
            return sum([await delete(job) for delete in deleters])

        return recheck

    async def _revoke(self, job: ErasureJob) -> int:
        wallet = _wallet(job)
        revoked = await self.auth.revoke_wallet(wallet, "erased")
        if self.live is None:
            # The CLI without Redis: the nodes find the started job by themselves (the
            # erasure sweep, `notice`) and close the wallet's connections then.
            return len(revoked)
        # Every node (the bus; the CLI's, with REDIS_URL) closes the wallet's connections
        # and drops what it still has batched of the wallet. The leaves of the closed
        # connections write presence and the connection log's close: updates, never
        # inserts, so one landing after the user's step finds nothing to write to.
        await self.live.erase(wallet)
        for _ in range(int(CLOSE_WAIT / 0.05)):
            if not self.live.live(wallet):
                break
            await asyncio.sleep(0.05)
        for flush in self.flushes:
            await flush()
        return len(revoked)

    async def _unlink(self, job: ErasureJob) -> int:
        """Before the lists are deleted (their policies): a node that holds them in memory
        drops the wallet, and its buddies are told it is gone. The CLI has none to call;
        the deletes that follow still empty the lists."""
        for unlink in self.unlinks:
            await unlink(_wallet(job))
        return len(self.unlinks)

    async def _close_ledger(self, job: ErasureJob) -> int:
        """Take the balance to zero through the ledger. Idempotent by reading the balance:
        a second run finds zero (the entry's conditional update never goes below it)."""
        wallet = _wallet(job)
        for _ in range(5):
            user = await self.db["users"].find_one({"walletAddress": wallet}, {"coins": 1})
            coins = int(user.get("coins", 0)) if user else 0
            if coins <= 0:
                return 0
            try:
                await self.economy.apply(
                    wallet, -coins, ERASURE_TYPE,
                    idempotency_key=f"erasure:{job.tombstone}:{ObjectId()}",
                    reason="account erased", proof={"job": str(job.id)},
                )  # fmt: skip
            except InsufficientFunds:
                continue  # spent meanwhile: read again
            return coins
        raise RuntimeError("the balance kept changing while being closed")

    def _pseudonymiser(self, policy: Policy) -> Callable[[ErasureJob], Awaitable[int]]:
        collection = self.db[policy.collection]

        async def pseudonymise(job: ErasureJob) -> int:
            wallet = _wallet(job)
            changed = 0
            while True:
                docs = await collection.find(policy.find(wallet)).limit(BATCH).to_list()
                writes = []
                for doc in docs:
                    new = pseudonymised(doc, wallet, job.tombstone, job.username)
                    if new != doc:
                        writes.append(ReplaceOne({"_id": doc["_id"]}, new))
                if not writes:
                    return changed
                await collection.bulk_write(writes, ordered=False)
                changed += len(writes)

        return pseudonymise

    def _deleter(self, policy: Policy) -> Callable[[ErasureJob], Awaitable[int]]:
        collection = self.db[policy.collection]

        async def delete(job: ErasureJob) -> int:
            result = await collection.delete_many(policy.find(_wallet(job)))
            return result.deleted_count

        return delete


def _wallet(job: ErasureJob) -> str:
    assert job.wallet_address is not None  # held while the job is open
    return job.wallet_address


def _check_wallet(wallet: str) -> None:
    if decode_wallet(wallet) is None:
        raise InvalidMessage("wallet: not a Solana wallet address")
