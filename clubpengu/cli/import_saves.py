"""`clubpengu import-saves FILE`: bulk import of exported localStorage saves."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
from collections.abc import Callable
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
from clubpengu.config import Settings, filter_words
from clubpengu.services.bulk_import import BulkImporter, ImportReport
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.migration_plan import MigrationPlanner
from clubpengu.services.names import NamePolicy
from clubpengu.services.transaction_runner import RetryPolicy
from clubpengu.wordfilter import WordFilter

BAR_WIDTH = 30
MAX_BATCH_SIZE = 5000
PROG = "clubpengu import-saves"

# A killed earlier run can leave its last batch's transaction open, holding those
# documents until the database reaps it (MongoDB and SecantusDB: after 60 s idle), so a
# rerun keeps retrying that batch for longer than a game request would.
IMPORT_RETRY = RetryPolicy(max_attempts=100_000, deadline_seconds=90.0, backoff_max=1.0)


def add_parser(commands: Commands) -> None:
    parser = add_command(
        commands,
        "import-saves",
        "Import exported localStorage saves (JSON Lines {walletAddress, localData}).",
        "clubpengu import-saves saves.jsonl --dry-run --report report.json",
    )
    parser.add_argument("file", type=Path, help="JSON Lines file, one save per line")
    parser.add_argument("--dry-run", action="store_true", help="validate and count; write nothing")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write the report as JSON")
    parser.add_argument(
        "--batch-size", type=int, default=500,
        help=f"saves per transaction, 1 to {MAX_BATCH_SIZE} (default 500)",
    )  # fmt: skip
    add_data_dir(parser)
    parser.set_defaults(func=with_settings(import_command))


def _progress_printer(total_bytes: int) -> Callable[[ImportReport], None]:
    """A progress bar on stderr when it is a terminal: the share of the file read so far
    (the reader runs a batch or two ahead of the writer), the counts and the rate."""
    started = time.monotonic()

    def show(report: ImportReport) -> None:
        if not sys.stderr.isatty():
            return
        share = min(report.bytes_read / total_bytes, 1.0) if total_bytes else 1.0
        filled = round(share * BAR_WIDTH)
        rate = report.imported / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%}  read {report.read}"
            f"  imported {report.imported}  skipped {report.skipped_existing}"
            f"  invalid {report.invalid}  ({rate:,.0f} saves/s)"
        )
        sys.stderr.flush()

    return show


async def _import(settings: Settings, args: argparse.Namespace) -> ImportReport:
    catalog = load_catalog()
    async with cli_database(settings, role="app", init=True) as db:
        economy = EconomyService(db.client, settings.mongodb_db, retry=IMPORT_RETRY)
        importer = BulkImporter(
            economy,
            MigrationPlanner.for_catalog(
                catalog,
                max_coins=settings.migration_max_coins,
                max_puffles=settings.puffle_limit,
                names=NamePolicy(WordFilter(filter_words(settings))),
            ),
            batch_size=args.batch_size,
            actor=f"import:{getpass.getuser()}",
        )
        return await importer.run(
            args.file, dry_run=args.dry_run, progress=_progress_printer(args.file.stat().st_size)
        )


def import_command(settings: Settings, args: argparse.Namespace) -> ExitCode:
    if not args.file.is_file():
        return fail(f"no such file: {args.file}", ExitCode.USAGE, PROG)
    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        return fail(f"--batch-size must be 1 to {MAX_BATCH_SIZE}", ExitCode.USAGE, PROG)
    report = asyncio.run(_import(settings, args))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(report.as_text())
    if args.report:
        args.report.write_text(json.dumps(report.as_dict(), indent=2))
    return ExitCode.FAILURE if report.verification_failures else ExitCode.OK
