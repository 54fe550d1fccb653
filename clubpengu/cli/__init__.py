"""The `clubpengu` command: one subcommand per module of this package.

Each module adds its parser with `add_parser(commands)` and sets `func`, which returns an
`ExitCode` (cli/common.py, the one place exit codes are defined).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from clubpengu.cli import admin, db, import_saves, ledger, report, serve
from clubpengu.cli.common import Commands, ExitCode, HelpFormatter, Run, exit_codes_help

# In the order `clubpengu --help` lists them.
SUBCOMMANDS: tuple[Callable[[Commands], None], ...] = (
    serve.add_parser,
    db.add_parser,
    report.add_parser,
    import_saves.add_parser,
    admin.add_parser,
    ledger.add_parser,
)

EPILOG = f"""examples:
  clubpengu serve --port 8000     run the server (on the embedded database)
  clubpengu ledger verify         check every balance against the ledger
  clubpengu COMMAND --help        what a command does, its options, an example

exit codes:
{exit_codes_help()}"""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, HelpFormatter):
    """Defaults shown, and the epilog's columns kept."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clubpengu",
        description="Club Pengu backend: run the server; administer its database, coins and saves.",
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in SUBCOMMANDS:
        add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> ExitCode:
    """Run `clubpengu` with `argv` (default: the process's arguments); return its exit code.
    argparse itself exits 2 (ExitCode.USAGE) on a bad command line, and 0 after --help."""
    args = build_parser().parse_args(argv)
    run: Run = args.func
    return run(args)


__all__ = ["ExitCode", "build_parser", "main"]
