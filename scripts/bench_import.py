#!/usr/bin/env python3
"""Bulk import benchmark: N generated saves through `clubpengu import-saves` against a
fresh embedded database; prints saves per second and the importer's peak RSS.

    .venv/bin/python scripts/bench_import.py --n 100000 --runs 3

Besides the wall-clock rate (the target: >= 2,000 saves/s, peak RSS < 300 MB) it prints
the CPU time per save of the database process and of the importer. On a machine shared
with other work the wall clock varies from run to run, the CPU time much less, and the
database's CPU time is what bounds the rate (it is single-threaded Python).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ProcessSampler, Wallet, idle_percent, write_json

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


def run_once(n: int, batch_size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedDatabase(Path(tmp) / "db") as database:
        saves = Path(tmp) / "saves.jsonl"
        generate(saves, n)
        env = {**os.environ, "MONGODB_URI": database.uri, "MONGODB_DB": "bench"}
        report_path = Path(tmp) / "r.json"
        command = [
            str(Path(sys.executable).with_name("clubpengu")), "import-saves", str(saves),
            "--batch-size", str(batch_size), "--report", str(report_path),
        ]  # fmt: skip
        assert database.process is not None
        db_cpu = ProcessSampler(database.process.pid)
        idle_before = idle_percent()
        db_cpu_before = db_cpu.cpu_seconds()
        started = time.monotonic()
        importer = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        # wait4 gives this child's own rusage: its peak RSS and CPU time, nobody else's.
        _, status, usage = os.wait4(importer.pid, 0)
        seconds = time.monotonic() - started
        db_seconds = db_cpu.cpu_seconds() - db_cpu_before
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"import-saves failed with status {status}")
        report = json.loads(report_path.read_text())
    imported = report["imported"]
    return {
        "idle_percent_before": idle_before,
        "imported": imported,
        "seconds": round(seconds, 1),
        "saves_per_s": round(imported / seconds, 1),
        "importer_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "db_cpu_ms_per_save": round(1000 * db_seconds / max(imported, 1), 3),
        "importer_cpu_ms_per_save": round(
            1000 * (usage.ru_utime + usage.ru_stime) / max(imported, 1), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1, help="fresh database each run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs = []
    for number in range(1, args.runs + 1):
        figures = run_once(args.n, args.batch_size)
        runs.append(figures)
        print(
            f"run {number}: idle {figures['idle_percent_before']} % before; imported "
            f"{figures['imported']} of {args.n} saves in {figures['seconds']} s: "
            f"{figures['saves_per_s']} saves/s; importer peak RSS "
            f"{figures['importer_peak_rss_mb']:.0f} MB; CPU per save: database "
            f"{figures['db_cpu_ms_per_save']} ms, importer {figures['importer_cpu_ms_per_save']} ms"
        )
    rates = [run["saves_per_s"] for run in runs]
    summary = {
        "n": args.n,
        "batch_size": args.batch_size,
        "runs": runs,
        "saves_per_s_median": statistics.median(rates),
        "saves_per_s_max": max(rates),
        "importer_peak_rss_mb_max": max(run["importer_peak_rss_mb"] for run in runs),
        "db_cpu_ms_per_save_median": statistics.median(r["db_cpu_ms_per_save"] for r in runs),
    }
    if args.runs > 1:
        print(
            f"median {summary['saves_per_s_median']} saves/s (max {summary['saves_per_s_max']}); "
            f"database CPU {summary['db_cpu_ms_per_save_median']} ms per save"
        )
    write_json(args.json, summary)


if __name__ == "__main__":
    main()
