#!/usr/bin/env python3
"""The word filter's cost per chat line (clubpengu/wordfilter.py), over a corpus of
generated chat: ordinary sentences of 1 to 25 words (median about 30 characters, the longest
200), one line in twenty disguising a listed word (`l0ser`, `L.O.S.E.R`, `looooser` …).

Runs the filter on each line `--rounds` times and prints the median, p95, p99 and max in
microseconds per line, for the built-in list and for a list of `--words` entries (random
made-up words standing in for an operator's CHAT_FILTER_FILE). `--compare` also times the
PyPI libraries that were considered, when they are installed (better-profanity,
glin-profanity), on the same corpus with the built-in list.

    .venv/bin/python scripts/bench_chat_filter.py --lines 20000 --json filter.json
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import write_json  # noqa: E402

from clubpengu.config import DEFAULT_CHAT_FILTER_WORDS  # noqa: E402
from clubpengu.wordfilter import WordFilter  # noqa: E402

VOCABULARY = """hi hello hey lol gg wave dance igloo puffle pizza coffee snow ball fight town plaza
dock beach lighthouse ski lodge pet shop iceberg mine dojo card jitsu ninja party hat
coins buy sell trade wanna play tic tac toe connect four anyone who where come join me
you are so cool nice outfit red blue green yellow pink black white my friend best team
win lose again rematch ok yes no maybe brb afk back thanks thank please sorry what is
up going on here there follow go to the of and a an in it is was be this that with for""".split()  # noqa: SIM905
DISGUISES: list[Callable[[str], str]] = [
    lambda w: w.replace("o", "0").replace("e", "3").replace("i", "1"),
    lambda w: ".".join(w.upper()),
    lambda w: w[0] + w[1] * 5 + w[2:],
    lambda w: " ".join(w),
    lambda w: w[:2] + " " + w[2:],
    lambda w: w.replace("s", "$").replace("a", "@"),
    lambda w: w + "s",
]


def corpus(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        words = [rng.choice(VOCABULARY) for _ in range(min(25, int(rng.expovariate(1 / 6)) + 1))]
        if rng.random() < 0.05:
            listed = rng.choice(DEFAULT_CHAT_FILTER_WORDS)
            words.insert(rng.randrange(len(words) + 1), rng.choice(DISGUISES)(listed))
        lines.append(" ".join(words)[:200])
    return lines


def made_up_words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))
        for _ in range(count)
    ]


def timed(apply: Callable[[str], Any], lines: list[str], rounds: int) -> dict[str, float]:
    samples: list[float] = []
    for _ in range(rounds):
        for line in lines:
            started = time.perf_counter_ns()
            apply(line)
            samples.append((time.perf_counter_ns() - started) / 1000)
    cuts = statistics.quantiles(samples, n=100)
    return {
        "count": len(samples),
        "median_us": round(statistics.median(samples), 2),
        "p95_us": round(cuts[94], 2),
        "p99_us": round(cuts[98], 2),
        "max_us": round(max(samples), 2),
    }


def libraries() -> dict[str, Callable[[str], Any]]:
    """The PyPI candidates, where installed, each with the built-in list."""
    found: dict[str, Callable[[str], Any]] = {}
    try:
        from better_profanity import profanity

        profanity.load_censor_words(list(DEFAULT_CHAT_FILTER_WORDS))
        found["better-profanity 0.7.0"] = profanity.censor
    except ImportError:
        pass
    try:
        from glin_profanity import Filter

        glin = Filter(
            {"languages": [], "custom_words": list(DEFAULT_CHAT_FILTER_WORDS),
             "replace_with": "*", "allow_obfuscated_match": True}
        )  # fmt: skip
        found["glin-profanity"] = glin.check_profanity
    except ImportError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--words", type=int, default=500, help="size of the large list")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--compare", action="store_true", help="time the PyPI candidates too")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    lines = corpus(args.lines, args.seed)
    built_in = WordFilter(DEFAULT_CHAT_FILTER_WORDS)
    large = WordFilter([*DEFAULT_CHAT_FILTER_WORDS, *made_up_words(args.words, args.seed)])
    masked = sum(built_in.apply(line) != line for line in lines)
    results = {
        "built-in list": timed(built_in.apply, lines, args.rounds),
        f"{args.words + len(DEFAULT_CHAT_FILTER_WORDS)} words": timed(
            large.apply, lines, args.rounds
        ),
    }
    if args.compare:
        results |= {name: timed(apply, lines, 1) for name, apply in libraries().items()}
    lengths = sorted(len(line) for line in lines)
    print(f"{len(lines)} lines, median {lengths[len(lengths) // 2]} characters, {masked} masked")
    for name, figures in results.items():
        print(f"  {name:28} " + "  ".join(f"{k} {v}" for k, v in figures.items()))
    write_json(args.json, {"args": vars(args) | {"json": str(args.json)}, "results": results})


if __name__ == "__main__":
    main()
