"""`clubpengu ledger verify`: check every balance against the sum of its ledger entries."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from clubpengu.cli.common import (
    Commands,
    ExitCode,
    add_actions,
    add_command,
    add_database_options,
)
from clubpengu.cli.database import Access, Client, with_database
from clubpengu.config import Settings
from clubpengu.services.economy import EconomyService
from clubpengu.services.reconciliation import LedgerReport

VERIFY_EXAMPLE = "MONGODB_URI=mongodb://db:27017/?replicaSet=rs0 clubpengu ledger verify"


def add_parser(commands: Commands) -> None:
    ledger = add_command(commands, "ledger", "Check the coin ledger.", VERIFY_EXAMPLE)
    verify = add_command(
        add_actions(ledger),
        "verify",
        "Check that every balance equals the sum of its ledger entries and is not "
        "negative; exit 1 on any mismatch.",
        VERIFY_EXAMPLE,
    )
    add_database_options(verify)
    # Reads only: a missing or empty database is exit 4, never "0 users ... OK".
    verify.set_defaults(func=with_database(verify_ledger, Access.READ, init=False))


async def verify_ledger(args: argparse.Namespace, settings: Settings, client: Client) -> ExitCode:
    economy = EconomyService(client, settings.mongodb_db)
    progress = _ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    report = await economy.verify_ledger(progress)
    if progress is not None:
        progress.done()
    print_report(report, sys.stdout)
    return ExitCode.OK if report.ok else ExitCode.FAILURE


def print_report(report: LedgerReport, out: TextIO) -> None:
    for mismatch in report.mismatches:
        balance = "none" if mismatch.balance is None else mismatch.balance
        print(
            f"MISMATCH {mismatch.wallet}: balance {balance}, ledger sum {mismatch.ledger_sum} "
            f"over {mismatch.entries} entries ({mismatch.problem})",
            file=out,
        )
    verdict = "OK" if report.ok else f"{len(report.mismatches)} MISMATCHES"
    print(
        f"ledger verify: {report.users} users, {report.transactions} transactions, "
        f"{verdict} ({report.seconds:.2f} s)",
        file=out,
    )


class _ProgressLine:
    """One self-overwriting line on a terminal: `checked 12000/50000 users (24%)`."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        self.out.write(f"\rchecked {done}/{total} users ({percent}%)")
        self.out.flush()

    def done(self) -> None:
        self.out.write("\n")
        self.out.flush()
