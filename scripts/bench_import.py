#!/usr/bin/env python3
"""Bulk import benchmark: N generated saves through `clubpengu import-saves` against a
fresh embedded database; prints saves per second and the importer's peak RSS.

    .venv/bin/python scripts/bench_import.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Wallet, write_json

from clubpengu.db import EmbeddedDatabase


def generate(path: Path, n: int) -> None:
    with path.open("w") as handle:
        for i in range(n):
            local = {
                "penguin_name": f"Pengu{i}",
                "clubpenguin_save": {"coins": i % 500, "stamps": ["first_login"]},
                "unlocked_cosmetics": ["party_hat", "red"],
                "penguin_customization": {"head": "party_hat"},
            }
            handle.write(json.dumps({"walletAddress": Wallet().address, "localData": local}))
            handle.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedDatabase(Path(tmp) / "db") as database:
        saves = Path(tmp) / "saves.jsonl"
        generate(saves, args.n)
        env = {**os.environ, "MONGODB_URI": database.uri, "MONGODB_DB": "bench"}
        report_path = Path(tmp) / "r.json"
        command = [
            str(Path(sys.executable).with_name("clubpengu")), "import-saves", str(saves),
            "--batch-size", str(args.batch_size), "--report", str(report_path),
        ]  # fmt: skip
        started = time.monotonic()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        # Read before the database child is stopped and reaped, so that only the importer
        # counts among the finished children.
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads(report_path.read_text())
    figures = {
        "n": args.n,
        "imported": report["imported"],
        "seconds": round(seconds, 1),
        "saves_per_s": round(report["imported"] / seconds, 1),
        "importer_peak_rss_mb": round(peak_mb, 1),
    }
    print(
        f"imported {report['imported']} of {args.n} saves in {seconds:.1f} s: "
        f"{figures['saves_per_s']} saves/s; importer peak RSS {peak_mb:.0f} MB"
    )
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
