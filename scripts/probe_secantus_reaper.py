#!/usr/bin/env python3
"""SecantusDB's transaction reaper: one long statement in one transaction holds up every
other transaction in the database (docs/secantusdb-transaction-reaper.md).

    .venv/bin/python scripts/probe_secantus_reaper.py          # as shipped, then fixed
    .venv/bin/python scripts/probe_secantus_reaper.py --docs 40000

For a fresh SecantusDB started as shipped (`python -m secantus`) and then through
`clubpengu.secantus_process` (the fix): session A inserts `--docs` documents in one
statement of a transaction; meanwhile session B runs small transactions (an update and an
insert, then commit) one after the other. Prints how long A's statement took, and B's
transactions' latencies while it ran (p50 / max) and how many of them completed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.read_concern import ReadConcern

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from clubpengu.db import EmbeddedDatabase  # noqa: E402


def run(module: str, docs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(Path(tmp), module=module)
        database.start()
        try:
            client: MongoClient[dict[str, Any]] = MongoClient(database.uri, retryWrites=False)
            coll = client.probe.c
            coll.insert_one({"_id": "counter", "n": 0})
            done = threading.Event()
            latencies: list[float] = []
            elapsed: list[float] = []

            def long_statement() -> None:
                with client.start_session() as session:
                    session.start_transaction(read_concern=ReadConcern("snapshot"))
                    coll.insert_one({"warm": 1}, session=session)
                    began = time.perf_counter()
                    coll.insert_many([{"k": k, "pad": "x" * 100} for k in range(docs)],
                                     session=session)  # fmt: skip
                    elapsed.append(time.perf_counter() - began)
                    done.set()
                    session.commit_transaction()

            def small_transactions() -> None:
                while not done.is_set():
                    began = time.perf_counter()
                    with client.start_session() as session:
                        session.start_transaction(read_concern=ReadConcern("snapshot"))
                        coll.update_one({"_id": "counter"}, {"$inc": {"n": 1}}, session=session)
                        coll.insert_one({"small": 1}, session=session)
                        session.commit_transaction()
                    if not done.is_set():
                        latencies.append(time.perf_counter() - began)

            a = threading.Thread(target=long_statement)
            a.start()
            time.sleep(0.2)  # A's statement under way
            b = threading.Thread(target=small_transactions)
            b.start()
            a.join()
            b.join()
            client.close()
        finally:
            database.stop()
    return {
        "statement_s": round(elapsed[0], 2),
        "small": len(latencies),
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "max_ms": round(1000 * max(latencies), 1) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="documents in A's statement")
    args = parser.parse_args()
    for label, module in (("as shipped", "secantus"), ("fixed", "clubpengu.secantus_process")):
        figures = run(module, args.docs)
        print(f"{label:>10}: A's statement {figures['statement_s']} s; B's transactions "
              f"meanwhile: {figures['small']} done, p50 {figures['p50_ms']} ms, "
              f"max {figures['max_ms']} ms")  # fmt: skip


if __name__ == "__main__":
    main()
