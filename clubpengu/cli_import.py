"""`clubpengu import-saves FILE`: bulk import of exported localStorage saves."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

from clubpengu.cli_db import cli_database
from clubpengu.config import Settings
from clubpengu.services.bulk_import import BulkImporter, ImportReport
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.migration_plan import MigrationPlanner
from clubpengu.services.transaction_runner import RetryPolicy

# A killed earlier run can leave its last batch's transaction open, holding those
# documents until the database reaps it (MongoDB and SecantusDB: after 60 s idle), so a
# rerun keeps retrying that batch for longer than a game request would.
IMPORT_RETRY = RetryPolicy(max_attempts=100_000, deadline_seconds=90.0, backoff_max=1.0)


def add_parser(commands: Any, wrap: Any) -> None:
    parser = commands.add_parser(
        "import-saves",
        help="Import exported localStorage saves (JSON Lines {walletAddress, localData}).",
        epilog="example: clubpengu import-saves saves.jsonl --dry-run --report report.json",
    )
    parser.add_argument("file", type=Path, help="JSON Lines file, one save per line")
    parser.add_argument("--dry-run", action="store_true", help="validate and count; write nothing")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write the report as JSON")
    parser.add_argument("--batch-size", type=int, default=250, help="saves per transaction")
    parser.add_argument("--data-dir", help="embedded database directory")
    parser.set_defaults(func=wrap(import_command))


def _progress_printer() -> Any:
    started = time.monotonic()

    def show(report: ImportReport) -> None:
        if not sys.stderr.isatty():
            return
        rate = report.read / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(
            f"\rread {report.read}  imported {report.imported}  skipped {report.skipped_existing}"
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
                catalog, max_coins=settings.migration_max_coins, max_puffles=settings.puffle_limit
            ),
            batch_size=args.batch_size,
            actor=f"import:{getpass.getuser()}",
        )
        return await importer.run(args.file, dry_run=args.dry_run, progress=_progress_printer())


def import_command(settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"clubpengu import-saves: no such file: {args.file}", file=sys.stderr)
        return 2
    if not 1 <= args.batch_size <= 5000:
        print("clubpengu import-saves: --batch-size must be 1 to 5000", file=sys.stderr)
        return 2
    report = asyncio.run(_import(settings, args))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(report.as_text())
    if args.report:
        args.report.write_text(json.dumps(report.as_dict(), indent=2))
    return 1 if report.verification_failures else 0
