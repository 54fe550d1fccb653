#!/usr/bin/env python3
"""SecantusDB's index upkeep on update: every update rewrites every index entry of the
document, changed or not (docs/secantusdb-index-writes.md).

    .venv/bin/python scripts/probe_secantus_index_writes.py      # as shipped, then fixed
    .venv/bin/python scripts/probe_secantus_index_writes.py --docs 400 --rounds 20

For a fresh SecantusDB started as shipped (`python -m secantus`) and then through
`clubpengu.secantus_process` (the fix), one client, one update at a time: `--docs`
documents shaped like a match (two arrays of players, a log), first with no secondary
index, then with the five a Match has (compound, multikey, and a unique partial multikey
one); each document updated `--rounds` times by `_id` with a `$push` to its log and a
`$set` of an unindexed field, then so by `_id`, `version` and `status` (as a Match's move
is written), then with a change of one indexed field. Prints
the mean time per update (the client's round trip included) for each, and the database's
CPU per update.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from clubpengu.db import EmbeddedDatabase  # noqa: E402
from clubpengu.models.match import Match  # noqa: E402

# The indexes a Match has, from the model itself, so the probe measures what the server builds.
MATCH_INDEXES = Match.Settings.indexes


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(
    database: EmbeddedDatabase, coll: Any, updates: list[tuple[dict[str, Any], dict[str, Any]]]
) -> tuple[float, float]:
    """Mean ms per update: the client's wall time, the database's CPU."""
    assert database.process is not None
    cpu = cpu_seconds(database.process.pid)
    began = time.perf_counter()
    for query, change in updates:
        coll.update_one(query, change)
    wall = time.perf_counter() - began
    used = cpu_seconds(database.process.pid) - cpu
    return 1000 * wall / len(updates), 1000 * used / len(updates)


def run(module: str, docs: int, rounds: int) -> dict[str, tuple[float, float]]:
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(Path(tmp), module=module)
        database.start()
        try:
            client: MongoClient[dict[str, Any]] = MongoClient(database.uri, retryWrites=False)
            for indexed in (False, True):
                coll = client.probe[f"matches_{indexed}"]
                if indexed:
                    coll.create_indexes(MATCH_INDEXES)
                coll.insert_many(
                    {
                        "_id": n, "status": "active", "turnDeadline": n, "game": "tictactoe",
                        "wallets": [f"w{n}", "computer"], "playing": [f"w{n}"],
                        "createdAt": n, "aftermathDue": False, "log": [], "version": 0,
                    }
                    for n in range(docs)
                )  # fmt: skip

                pushes = [
                    ({"_id": n}, {"$push": {"log": {"seat": 0, "move": r}}, "$set": {"seq": r}})
                    for r in range(rounds)
                    for n in range(docs)
                ]
                # A Match's move: the filter names its version and status as well.
                conditional = [
                    ({"_id": n, "version": 0, "status": "active"}, {"$push": {"log": r}})
                    for r in range(rounds)
                    for n in range(docs)
                ]
                indexed_changes = [
                    ({"_id": n}, {"$set": {"turnDeadline": r}})
                    for r in range(rounds)
                    for n in range(docs)
                ]
                label = "five indexes" if indexed else "no index"
                for kind, updates in (
                    ("no indexed key", pushes),
                    ("no indexed key, by _id+version+status,", conditional),
                    ("one indexed key", indexed_changes),
                ):
                    figures[f"{label}, {kind} changed"] = timed(database, coll, updates)
            client.close()
        finally:
            database.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200, help="documents in each collection")
    parser.add_argument("--rounds", type=int, default=10, help="updates of each document")
    args = parser.parse_args()
    for label, module in (("as shipped", "secantus"), ("fixed", "clubpengu.secantus_process")):
        for what, (wall, cpu) in run(module, args.docs, args.rounds).items():
            print(f"{label:>10}: {what:<60} {wall:.3f} ms an update, database CPU {cpu:.3f} ms")


if __name__ == "__main__":
    main()
