"""`clubpengu report`: the analysts' report as tables, JSON, CSV files or PNG charts, run
as the read-only analyst user."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from clubpengu.cli.common import (
    Commands,
    ExitCode,
    add_command,
    add_database_options,
    fail,
)
from clubpengu.cli.database import Access, Client, with_database
from clubpengu.config import Settings
from clubpengu.services.report import (
    DEFAULT_REPORT_DAYS,
    Report,
    default_range,
    run_report,
    sections,
)


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-25, got {text!r}") from None


def add_parser(commands: Commands) -> None:
    parser = add_command(
        commands,
        "report",
        "Print the analysts' report for a date range (read-only).",
        "clubpengu report --from 2026-11-01 --to 2026-12-01 --chart charts/",
    )
    parser.add_argument("--from", dest="start", type=_day,
                        help=f"first day, UTC (default: {DEFAULT_REPORT_DAYS - 1} days before "
                        "today, as in the console)")  # fmt: skip
    parser.add_argument("--to", dest="end", type=_day,
                        help="day after the last, UTC (default: tomorrow)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--csv", type=Path, metavar="DIR", help="also write one CSV per section")
    parser.add_argument("--chart", type=Path, metavar="DIR", help="also write a PNG per section")
    add_database_options(parser)
    parser.set_defaults(
        func=with_database(report_command, Access.READ, "analyst", init=False, check=_check_range)
    )


def report_range(args: argparse.Namespace) -> tuple[datetime, datetime]:
    """--from and --to, each defaulting as the console's range does (services/report.py)."""
    default_start, default_end = default_range()
    end = args.end or default_end
    start = args.start or (end - (default_end - default_start))
    return start, end


def _check_range(args: argparse.Namespace) -> ExitCode | None:
    args.start, args.end = report_range(args)
    if args.end <= args.start:
        return fail("--to must be after --from", ExitCode.USAGE, "clubpengu report")
    return None


async def report_command(args: argparse.Namespace, settings: Settings, client: Client) -> ExitCode:
    report = await run_report(client[settings.mongodb_db], args.start, args.end)
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


# What each section's chart shows: its label column, and the number columns drawn as bars
# side by side (a section by day is drawn over every day of the range, zeros included).
CHART_COLORS = ("#3b82f6", "#16a34a", "#dc2626", "#f59e0b")
UNCHARTED = {"completion_rate"}  # a share, on another scale than the counts beside it


def write_charts(report: Report, directory: Path) -> list[Path]:
    """One PNG bar chart per section, named after it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for section in sections(datetime.min, datetime.max):
        rows = report[section.name]
        label, *columns = section.columns
        values = [column for column in columns if column not in UNCHARTED]
        figure, axes = plt.subplots(figsize=(max(8.0, 0.3 * len(rows)), 4))
        positions = range(len(rows))
        width = 0.8 / max(len(values), 1)
        for n, column in enumerate(values):
            axes.bar(
                [p + (n - (len(values) - 1) / 2) * width for p in positions],
                [row.get(column) or 0 for row in rows],
                width=width,
                label=column.replace("_", " "),
                color=CHART_COLORS[n % len(CHART_COLORS)],
            )
        axes.set_xticks(list(positions), [str(row.get(label)) for row in rows])
        axes.set_title(section.name.replace("_", " ").capitalize())
        if len(values) > 1:
            axes.legend()
        if not rows:
            axes.text(0.5, 0.5, "nothing in this period", ha="center", transform=axes.transAxes)
        figure.autofmt_xdate()
        path = directory / f"{section.name}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written
