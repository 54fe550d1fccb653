#!/usr/bin/env python3
"""Time from `clubpengu serve` process start to /health 200, on a fresh data directory
each run (the embedded database starts and creates its indexes every time).

    .venv/bin/python scripts/bench_startup.py --runs 5
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
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import NO_ADDRESS_LIMITS, free_port


def one_run(reuse_dir: Path | None) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = reuse_dir or Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"} | NO_ADDRESS_LIMITS
        started = time.monotonic()
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("clubpengu")), "serve", "--port", str(port),
             "--data-dir", str(data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                        if r.status == 200:
                            return time.monotonic() - started
                except OSError:
                    pass
                if process.poll() is not None:
                    raise SystemExit(f"serve exited with {process.returncode}")
                if time.monotonic() - started > 60:
                    raise SystemExit("no /health 200 within 60 s")
                time.sleep(0.02)
        finally:
            process.terminate()
            process.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse-data", action="store_true", help="warm start: one data dir")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    reuse = Path(tempfile.mkdtemp()) / "data" if args.reuse_data else None
    times = [one_run(reuse) for _ in range(args.runs)]
    figures = {
        "runs": args.runs,
        "warm": args.reuse_data,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "all_s": [round(t, 3) for t in times],
    }
    kind = "warm" if args.reuse_data else "cold"
    print(
        f"start-up to /health 200 over {args.runs} runs ({kind}): median {figures['median_s']} s,"
        f" min {figures['min_s']} s, max {figures['max_s']} s"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
