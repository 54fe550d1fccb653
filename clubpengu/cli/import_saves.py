"""`clubpengu import-saves FILE`: bulk import of exported localStorage saves."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from clubpengu.cli.common import (
    Commands,
    ExitCode,
    add_command,
    add_database_options,
    fail,
)
from clubpengu.cli.database import Access, Client, with_database
from clubpengu.config import Settings, filter_words
from clubpengu.services.bulk_import import BulkImporter, ImportReport, count_saves
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.import_rollback import ImportRollback
from clubpengu.services.migration_plan import MigrationPlanner
from clubpengu.services.names import NamePolicy
from clubpengu.services.transaction_runner import RetryPolicy
from clubpengu.wordfilter import WordFilter

BAR_WIDTH = 30
MAX_BATCH_SIZE = 5000
PROG = "clubpengu import-saves"
# Without a terminal (a log file, CI), a plain line at least this often, and at every
# tenth of the file.
LINE_EVERY_SECONDS = 10.0

# A killed earlier run can leave its last batch's transaction open, holding those
# documents until the database reaps it (MongoDB and SecantusDB: after 60 s idle), so a
# rerun keeps retrying that batch for longer than a game request would.
IMPORT_RETRY = RetryPolicy(max_attempts=100_000, deadline_seconds=90.0, backoff_max=1.0)


def add_parser(commands: Commands) -> None:
    parser = add_command(
        commands,
        "import-saves",
        "Import exported localStorage saves (JSON Lines {walletAddress, localData}), "
        "or undo one import run (--rollback).",
        "clubpengu import-saves saves.jsonl --dry-run --report report.json",
    )
    parser.add_argument("file", type=Path, nargs="?", help="JSON Lines file, one save per line")
    parser.add_argument("--dry-run", action="store_true", help="validate and count; write nothing")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write the report as JSON")
    parser.add_argument(
        "--batch-size", type=int, default=500,
        help=f"saves per transaction, 1 to {MAX_BATCH_SIZE} (default 500)",
    )  # fmt: skip
    parser.add_argument(
        "--rollback", metavar="RUN",
        help="undo import run RUN (its id is printed at the end of the import): remove its "
        "players who have not played since and reverse their coins; lists what it would "
        "do unless --yes",
    )  # fmt: skip
    parser.add_argument("--yes", action="store_true", help="with --rollback: do it")
    add_database_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> ExitCode:
    if args.rollback is not None:
        return with_database(rollback_command, check=_check_rollback)(args)
    # A dry run writes nothing, so it needs a database that is there already.
    access = Access.WRITE if args.dry_run else Access.CREATE
    return with_database(import_command, access, check=_check_import)(args)


def _check_rollback(args: argparse.Namespace) -> ExitCode | None:
    if args.file is not None or args.dry_run:
        return fail("--rollback takes no FILE and no --dry-run (without --yes it is one)",
                    ExitCode.USAGE, PROG)  # fmt: skip
    return None


def _check_import(args: argparse.Namespace) -> ExitCode | None:
    if args.yes:
        return fail("--yes goes with --rollback", ExitCode.USAGE, PROG)
    if args.file is None:
        return fail("FILE is required (or --rollback RUN)", ExitCode.USAGE, PROG)
    if not args.file.is_file():
        return fail(f"no such file: {args.file}", ExitCode.USAGE, PROG)
    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        return fail(f"--batch-size must be 1 to {MAX_BATCH_SIZE}", ExitCode.USAGE, PROG)
    return None


class Progress:
    """Progress in saves (not bytes) on stderr, with the rate and the time left: a bar
    that overwrites itself on a terminal, else a plain line every LINE_EVERY_SECONDS and at
    every tenth of the file."""

    def __init__(
        self, total: int, verb: str, out: TextIO, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.verb = verb
        self.out = out
        self.clock = clock
        self.terminal = out.isatty()
        self.started = clock()
        self.last_line = self.started
        self.last_tenth = 0

    def line(self, done: int, extra: str = "") -> str:
        elapsed = max(self.clock() - self.started, 1e-6)
        rate = done / elapsed
        left = max(self.total - done, 0)
        eta = _duration(left / rate) if rate > 0 else "?"
        share = min(done / self.total, 1.0) if self.total else 1.0
        return (
            f"{self.verb} {done:,}/{self.total:,} saves ({share:.0%}), {rate:,.0f} saves/s, "
            f"{eta} left{extra}"
        )

    def __call__(self, done: int, extra: str = "") -> None:
        if self.terminal:
            share = min(done / self.total, 1.0) if self.total else 1.0
            filled = round(share * BAR_WIDTH)
            bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            self.out.write(f"\r{bar}{self.line(done, extra)}\x1b[K")
            self.out.flush()
            return
        now = self.clock()
        tenth = 10 * done // self.total if self.total else 10
        if now - self.last_line >= LINE_EVERY_SECONDS or tenth > self.last_tenth:
            self.last_line, self.last_tenth = now, tenth
            print(self.line(done, extra), file=self.out, flush=True)

    def done(self) -> None:
        if self.terminal:
            self.out.write("\n")
            self.out.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


async def import_command(args: argparse.Namespace, settings: Settings, client: Client) -> ExitCode:
    catalog = load_catalog()
    economy = EconomyService(client, settings.mongodb_db, retry=IMPORT_RETRY)
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
    progress = Progress(count_saves(args.file), "checked" if args.dry_run else "imported",
                        sys.stderr)  # fmt: skip

    def show(report: ImportReport) -> None:
        progress(report.done, f", {report.invalid:,} invalid, {report.skipped_existing:,} skipped")

    report = await importer.run(args.file, dry_run=args.dry_run, progress=show)
    progress.done()
    print(report.as_text())
    if report.run_id is not None:
        print(f"import run {report.run_id}: undo with `clubpengu import-saves --rollback "
              f"{report.run_id}`")  # fmt: skip
    if args.report:
        args.report.write_text(json.dumps(report.as_dict(), indent=2))
    return ExitCode.FAILURE if report.verification_failures else ExitCode.OK


async def rollback_command(
    args: argparse.Namespace, settings: Settings, client: Client
) -> ExitCode:
    economy = EconomyService(client, settings.mongodb_db, retry=IMPORT_RETRY)
    rollback = ImportRollback(economy, actor=f"import:{getpass.getuser()}")
    players = await rollback.count(args.rollback)
    progress = Progress(players, "removed" if args.yes else "checked", sys.stderr)
    report = await rollback.run(args.rollback, apply=args.yes, progress=progress)
    progress.done()
    print(report.as_text())
    if args.report:
        args.report.write_text(json.dumps(report.as_dict(), indent=2, default=str))
    return ExitCode.OK
