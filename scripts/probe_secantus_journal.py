#!/usr/bin/env python3
"""What SecantusDB flushes to its journal, and what a kill -9 of it loses (docs/durability.md).

    .venv/bin/python scripts/probe_secantus_journal.py            # fsyncs per operation
    .venv/bin/python scripts/probe_secantus_journal.py --loss     # writes lost to a kill -9

Default: for a fresh SecantusDB without and then with `--sync-on-commit`, each kind of
operation is made `--n` times while `strace -f -c -e trace=fsync,fdatasync` counts the
database process's journal flushes (needs strace and ptrace permission); it prints the
flushes per operation. `--loss`: a thread inserts documents one after the other (without
`j: true`, then with it) into a database without `--sync-on-commit`, the database is
killed with SIGKILL after a second and a half and started again, and it prints how many
acknowledged writes are missing and how long before the kill the oldest of them was
acknowledged.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pymongo import MongoClient, UpdateOne, WriteConcern
from pymongo.read_concern import ReadConcern

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from clubpengu.db import EmbeddedDatabase  # noqa: E402

Op = Callable[[int], Any]
FLUSHES = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)(?:\s+\d+)?\s+f(?:data)?sync", re.M)


def operations(client: MongoClient[dict[str, Any]]) -> Iterator[tuple[str, Op]]:
    plain = client.probe.get_collection("c", write_concern=WriteConcern(w=1))
    journaled = client.probe.get_collection("c", write_concern=WriteConcern(j=True))

    def transaction(i: int, concern: WriteConcern) -> None:
        with client.start_session() as session:
            session.start_transaction(read_concern=ReadConcern("snapshot"), write_concern=concern)
            plain.update_one({"i": i}, {"$inc": {"coins": 1}}, session=session)
            plain.insert_one({"ledger": i}, session=session)
            session.commit_transaction()

    updates = [UpdateOne({"i": k}, {"$inc": {"n": 1}}) for k in range(100)]
    yield "insert_one w:1", lambda i: plain.insert_one({"i": i})
    yield "insert_one j:true", lambda i: journaled.insert_one({"i": i})
    yield "update_one w:1", lambda i: plain.update_one({"i": i}, {"$set": {"x": i}})
    yield "update_one j:true", lambda i: journaled.update_one({"i": i}, {"$set": {"x": -i}})
    yield "bulk_write of 100 updates w:1", lambda i: plain.bulk_write(updates, ordered=False)
    yield "bulk_write of 100 updates j:true", lambda i: journaled.bulk_write(updates)
    yield "insert_many of 100 w:1", lambda i: plain.insert_many([{"k": k} for k in range(100)])
    yield "transaction, commit w:majority", lambda i: transaction(i, WriteConcern("majority"))
    yield (
        "transaction, commit w:majority j:true",
        lambda i: transaction(i, WriteConcern("majority", j=True)),
    )
    yield (
        "update that changes nothing, j:true",
        lambda i: journaled.update_one({"i": -1}, {"$set": {"x": 0}}),
    )


def count_flushes(pid: int, op: Op, n: int) -> float:
    with tempfile.NamedTemporaryFile(suffix=".strace") as out:
        command = ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", out.name]
        tracer = subprocess.Popen([*command, "-p", str(pid)], stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # attached
        for i in range(n):
            op(i)
        time.sleep(0.2)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(30)
        calls = sum(int(m.group(1)) for m in FLUSHES.finditer(Path(out.name).read_text()))
    return calls / n


def flushes(n: int) -> None:
    for sync in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            database = EmbeddedDatabase(Path(tmp), extra_args=["--sync-on-commit"] if sync else [])
            with database, MongoClient(database.uri) as client:
                assert database.process is not None
                client.probe.c.create_index("i")
                client.probe.c.insert_many([{"i": i} for i in range(max(n, 100))])
                print(f"--- {'with' if sync else 'without'} --sync-on-commit: "
                      f"journal flushes per operation ({n} of each)")  # fmt: skip
                for name, op in operations(client):
                    print(f"  {name:40} {count_flushes(database.process.pid, op, n):6.2f}")


def loss(journal: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(Path(tmp))
        uri = database.start()
        acknowledged: list[tuple[int, float]] = []
        stop = threading.Event()

        def write() -> None:
            with MongoClient(uri) as client:
                docs = client.probe.get_collection("x", write_concern=WriteConcern(j=journal))
                number = 0
                while not stop.is_set():
                    try:
                        docs.insert_one({"_id": number})
                    except Exception:
                        return  # the database is gone
                    acknowledged.append((number, time.monotonic()))
                    number += 1

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(1.5)
        assert database.process is not None
        killed = time.monotonic()
        database.process.send_signal(signal.SIGKILL)
        database.process.wait()
        database.process = None
        stop.set()
        writer.join()
        again = EmbeddedDatabase(Path(tmp), port=database.port)
        with again, MongoClient(again.uri) as client:
            stored = {doc["_id"] for doc in client.probe.x.find({}, {"_id": 1})}
    lost = [at for number, at in acknowledged if number not in stored]
    oldest = f", the oldest acknowledged {(killed - min(lost)) * 1000:.0f} ms before the kill"
    print(f"  j:{str(journal).lower():5} acknowledged {len(acknowledged)}, lost {len(lost)}"
          f"{oldest if lost else ''}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 2)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=200, help="operations of each kind")
    parser.add_argument("--loss", action="store_true", help="kill -9 under writes instead")
    parser.add_argument("--runs", type=int, default=3, help="--loss: kills without j:true")
    args = parser.parse_args()
    if args.loss:
        print("--- without --sync-on-commit: writes lost to a kill -9 of the database")
        for _ in range(args.runs):
            loss(journal=False)
        loss(journal=True)
    else:
        flushes(args.n)


if __name__ == "__main__":
    main()
