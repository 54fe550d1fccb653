"""How the database outage is made.

- By default the test owns the database: SecantusDB in its own process, killed (SIGKILL)
  and started again on the same port and data directory (`ProcessOutage`).
- With `MONGODB_URI` naming a real replica set and `CHAOS_FAILOVER=stepdown`, the primary
  is made to step down with the `replSetStepDown` admin command (`ReplicaSetFailover`); or,
  with `CHAOS_FAILOVER_CMD`, that command makes the failure (e.g. `docker compose kill
  mongo-1`) and `CHAOS_RECOVER_CMD`, if set, undoes it. The server rides through the
  election on its own: nothing restarts it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass
from typing import Any, Protocol

from pymongo import MongoClient
from pymongo.errors import ConnectionFailure

from tests.chaos.support import OwnedDatabase

STEPDOWN_SECONDS = 10


class Outage(Protocol):
    name: str
    # True when the database is certainly unreachable between begin() and end(), so the
    # test may insist on a degraded /health and refused requests; a failover may be quick
    # enough that neither shows.
    strict: bool

    def begin(self) -> None: ...

    def end(self) -> None: ...


@dataclass
class ProcessOutage:
    database: OwnedDatabase
    sig: int = signal.SIGKILL
    strict: bool = True

    @property
    def name(self) -> str:
        return f"database process {signal.Signals(self.sig).name}"

    def begin(self) -> None:
        self.database.kill(self.sig)

    def end(self) -> None:
        self.database.start()


@dataclass
class ReplicaSetFailover:
    uri: str
    strict: bool = False

    @property
    def name(self) -> str:
        return os.environ.get("CHAOS_FAILOVER_CMD") or f"replSetStepDown {STEPDOWN_SECONDS}"

    def begin(self) -> None:
        command = os.environ.get("CHAOS_FAILOVER_CMD")
        if command:
            subprocess.run(shlex.split(command), check=True, timeout=300)
            return
        client: MongoClient[dict[str, Any]]
        with (
            MongoClient(self.uri, serverSelectionTimeoutMS=10_000) as client,
            contextlib.suppress(ConnectionFailure),  # the old primary drops its connections
        ):
            client.admin.command(
                {"replSetStepDown": STEPDOWN_SECONDS, "secondaryCatchUpPeriodSecs": 5,
                 "force": True}
            )  # fmt: skip

    def end(self) -> None:
        command = os.environ.get("CHAOS_RECOVER_CMD")
        if command:
            subprocess.run(shlex.split(command), check=True, timeout=300)


def replica_set_uri() -> str | None:
    """MONGODB_URI when a replica-set failover was asked for (CHAOS_FAILOVER=stepdown or
    CHAOS_FAILOVER_CMD); None runs the test on a database of its own."""
    uri = os.environ.get("MONGODB_URI")
    asked = os.environ.get("CHAOS_FAILOVER") == "stepdown" or os.environ.get("CHAOS_FAILOVER_CMD")
    if asked and not uri:
        raise RuntimeError("CHAOS_FAILOVER needs MONGODB_URI naming the replica set")
    return uri if asked else None
