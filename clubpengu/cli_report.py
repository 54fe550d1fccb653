"""`clubpengu report`: the analysts' report, as the read-only analyst user."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clubpengu.cli_db import cli_database
from clubpengu.config import Settings
from clubpengu.report import as_text, run_report, write_charts, write_csv


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-25, got {text!r}") from None


def add_parser(commands: Any, wrap: Any) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    parser = commands.add_parser(
        "report",
        help="Print the analysts' report for a date range (read-only).",
        epilog="example: clubpengu report --from 2026-11-01 --to 2026-12-01 --chart charts/",
    )
    parser.add_argument("--from", dest="start", type=_day, default=today - timedelta(days=30),
                        help="first day, UTC (default: 30 days ago)")  # fmt: skip
    parser.add_argument("--to", dest="end", type=_day, default=today + timedelta(days=1),
                        help="day after the last, UTC (default: tomorrow)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--csv", type=Path, metavar="DIR", help="also write one CSV per section")
    parser.add_argument("--chart", type=Path, metavar="DIR", help="also write PNG charts")
    parser.add_argument("--data-dir", help="embedded database directory")
    parser.set_defaults(func=wrap(report_command))


async def _report(settings: Settings, start: datetime, end: datetime) -> dict[str, Any]:
    async with cli_database(settings, role="analyst") as db:
        return await run_report(db, start, end)


def report_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.end <= args.start:
        print("clubpengu report: --to must be after --from", file=sys.stderr)
        return 2
    report = asyncio.run(_report(settings, args.start, args.end))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(as_text(report, args.start, args.end))
    for path in write_csv(report, args.csv) if args.csv else []:
        print(f"wrote {path}", file=sys.stderr)
    for path in write_charts(report, args.chart) if args.chart else []:
        print(f"wrote {path}", file=sys.stderr)
    return 0
