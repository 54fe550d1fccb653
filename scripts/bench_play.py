#!/usr/bin/env python3
"""How long a newcomer waits: from starting `clubpengu serve` (fresh data directory) to
walking the town in /play with a development key, in Debian's Chromium.

Phases of each run: serve start -> /health 200; page load (/play until its sign-in
button shows); sign-in (click -> joined); first step (a click on the room -> the
penguin's first position back from the server in a `moves` batch).

    .venv/bin/python scripts/bench_play.py --runs 5 [--json bench-play.json]

Needs the dev dependencies (Playwright) and /usr/bin/chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realtime import idle_percent
from benchlib import git_revision, serve, summary_ms, write_json
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHASES = ("serve", "page", "sign_in", "first_step", "total")


def one_run(browser: Browser) -> dict[str, float]:
    started = time.monotonic()
    with serve() as server:
        healthy = time.monotonic()
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.goto(server.url + "/play")
        page.wait_for_selector("#sign-in-dev:not([hidden])")
        loaded = time.monotonic()
        page.click("#sign-in-dev")
        page.wait_for_selector("body.in-game")
        joined = time.monotonic()
        me = page.get_attribute("#players li[data-me]", "data-player-id")
        page.click("#room", position={"x": 200, "y": 200})
        page.wait_for_selector(f'#frames li.type-moves:has-text("{me}")')
        stepped = time.monotonic()
        context.close()
    return {
        "serve": healthy - started,
        "page": loaded - healthy,
        "sign_in": joined - loaded,
        "first_step": stepped - joined,
        "total": stepped - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh servers to start")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    idle = idle_percent()
    print(f"machine idle before the run: {idle} %")
    samples: dict[str, list[float]] = {phase: [] for phase in PHASES}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for run in range(args.runs):
            figures = one_run(browser)
            print(
                f"run {run + 1}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in figures.items())
            )
            for phase, seconds in figures.items():
                samples[phase].append(seconds)
        browser.close()
    summary: dict[str, Any] = {phase: summary_ms(values) for phase, values in samples.items()}
    for phase, figures in summary.items():
        print(f"{phase:>10}: " + ", ".join(f"{k} {v:.0f}" for k, v in figures.items()))
    write_json(args.json, {"args": vars(args) | {"json": str(args.json)}, "idle_before": idle,
                           "git": git_revision(), "ms": summary})  # fmt: skip


if __name__ == "__main__":
    main()
