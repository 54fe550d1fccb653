"""`clubpengu report`: the analysts' report as tables, JSON, CSV files or PNG charts, run
as the read-only analyst user."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clubpengu.cli.common import (
    Commands,
    ExitCode,
    add_command,
    add_data_dir,
    fail,
    with_settings,
)
from clubpengu.cli.database import cli_database
from clubpengu.config import Settings
from clubpengu.services.report import Report, run_report, sections


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-25, got {text!r}") from None


def add_parser(commands: Commands) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    parser = add_command(
        commands,
        "report",
        "Print the analysts' report for a date range (read-only).",
        "clubpengu report --from 2026-11-01 --to 2026-12-01 --chart charts/",
    )
    parser.add_argument("--from", dest="start", type=_day, default=today - timedelta(days=30),
                        help="first day, UTC (default: 30 days ago)")  # fmt: skip
    parser.add_argument("--to", dest="end", type=_day, default=today + timedelta(days=1),
                        help="day after the last, UTC (default: tomorrow)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--csv", type=Path, metavar="DIR", help="also write one CSV per section")
    parser.add_argument("--chart", type=Path, metavar="DIR", help="also write PNG charts")
    add_data_dir(parser)
    parser.set_defaults(func=with_settings(report_command))


async def _report(settings: Settings, start: datetime, end: datetime) -> Report:
    async with cli_database(settings, role="analyst") as db:
        return await run_report(db, start, end)


def report_command(settings: Settings, args: argparse.Namespace) -> ExitCode:
    if args.end <= args.start:
        return fail("--to must be after --from", ExitCode.USAGE, "clubpengu report")
    report = asyncio.run(_report(settings, args.start, args.end))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(as_text(report, args.start, args.end))
    for path in write_csv(report, args.csv) if args.csv else []:
        print(f"wrote {path}", file=sys.stderr)
    for path in write_charts(report, args.chart) if args.chart else []:
        print(f"wrote {path}", file=sys.stderr)
    return ExitCode.OK


def as_text(report: Report, start: datetime, end: datetime) -> str:
    lines = [f"Club Pengu report {start:%Y-%m-%d} .. {end:%Y-%m-%d} (end exclusive)"]
    for section in sections(start, end):
        rows = report[section.name]
        lines += ["", section.name.replace("_", " ")]
        table = [list(section.columns)] + [
            [str(r.get(c, "")) for c in section.columns] for r in rows
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(section.columns))]
        for row in table:
            lines.append(
                "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
            )
        if not rows:
            lines.append("  (nothing in this period)")
    return "\n".join(lines)


def write_csv(report: Report, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for section in sections(datetime.min, datetime.max):
        path = directory / f"{section.name}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=section.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(report[section.name])
        written.append(path)
    return written


def write_charts(report: Report, directory: Path) -> list[Path]:
    """PNG charts of daily active players and coin flow by type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    actives = report["daily_active_players"]
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.bar([r["day"] for r in actives], [r["players"] for r in actives], color="#3b82f6")
    axes.set_title("Daily active players")
    axes.set_ylabel("players")
    figure.autofmt_xdate()
    actives_path = directory / "daily_active_players.png"
    figure.savefig(actives_path, dpi=100, bbox_inches="tight")
    plt.close(figure)

    flow = report["coin_flow"]
    figure, axes = plt.subplots(figsize=(8, 4))
    types = [r["type"] for r in flow]
    axes.bar(types, [r["created"] for r in flow], label="created", color="#16a34a")
    axes.bar(types, [-r["destroyed"] for r in flow], label="destroyed", color="#dc2626")
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_title("Coin flow by transaction type")
    axes.set_ylabel("coins")
    axes.legend()
    flow_path = directory / "coin_flow.png"
    figure.savefig(flow_path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return [actives_path, flow_path]
