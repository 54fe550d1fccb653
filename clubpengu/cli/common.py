"""What every `clubpengu` command shares: its exit codes, one-line errors, loading the
settings, and the shape of its --help (a verb-first line and an example)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import TypeAlias

from clubpengu.config import ConfigError, Settings, load_settings
from clubpengu.logs import configure_logging

# What `add_subparsers()` returns; typeshed's generic, which is not subscriptable at run time.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class ExitCode(IntEnum):
    """The exit status of every `clubpengu` command; the one place the numbers live."""

    OK = 0
    # Refused by the rules, a ledger mismatch, an import whose writes did not verify.
    FAILURE = 1
    # A bad setting, argument or input file: nothing was done. argparse exits 2 for its
    # own usage errors too, so one number means "fix the command line or the environment".
    USAGE = 2
    # `serve` could not start (port taken, database down), or a command's database failed
    # or was out of reach. uvicorn calls this STARTUP_FAILURE.
    UNAVAILABLE = 3
    # No database where the command looked (a missing data directory, an unknown MONGODB_DB,
    # no players to read): nothing was created, and no "OK" was printed.
    NO_DATABASE = 4
    INTERRUPTED = 130  # the shell's convention for a process ended by Ctrl-C


# What a parser's `func` is: typed to return an ExitCode, so that no command returns a
# bare number.
Run = Callable[[argparse.Namespace], ExitCode]


def exit_codes_help() -> str:
    """The exit codes as the top-level --help lists them."""
    meanings = {
        ExitCode.OK: "done",
        ExitCode.FAILURE: "refused by the rules, or a check found a mismatch",
        ExitCode.USAGE: "a bad setting or argument; nothing was done",
        ExitCode.UNAVAILABLE: "the server could not start, or the database failed",
        ExitCode.NO_DATABASE: "no database (or no players) where the command looked",
        ExitCode.INTERRUPTED: "stopped with Ctrl-C",
    }
    return "\n".join(f"  {code.value:<4} {meaning}" for code, meaning in meanings.items())


def fail(message: str, code: ExitCode, prog: str = "clubpengu") -> ExitCode:
    """Print one line on stderr and return `code`."""
    print(f"{prog}: {message}", file=sys.stderr)
    return code


def configuration_error(error: ConfigError) -> ExitCode:
    return fail(f"configuration error: {error}", ExitCode.USAGE)


class HelpFormatter(argparse.HelpFormatter):
    """Wraps a paragraph to the terminal, but keeps an example, or any text laid out in
    lines, as written, so that it can be copied as it is."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:") or "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_command(
    commands: Commands, name: str, summary: str, example: str
) -> argparse.ArgumentParser:
    """A subcommand whose --help starts with `summary` (one verb-first line, also shown in
    its parent's list) and ends with a runnable `example`."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example: {example}",
        formatter_class=HelpFormatter,
    )
    return parser


def add_actions(
    parser: argparse.ArgumentParser, metavar: str = "ACTION", dest: str = "action"
) -> Commands:
    """The required subcommands of a command group (`clubpengu admin ACTION`)."""
    return parser.add_subparsers(dest=dest, required=True, metavar=metavar)


DATA_DIR_HELP = (
    "the embedded database's directory (default: CLUBPENGU_DATA_DIR, else ./var/mongo); "
    "not used when MONGODB_URI is set"
)


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """The one way every command is pointed at its database: `--data-dir` over
    CLUBPENGU_DATA_DIR for the embedded one; MONGODB_URI (and MONGODB_DB) from the
    environment only, so that a password stays out of the process list."""
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help=DATA_DIR_HELP)


def command_settings(args: argparse.Namespace) -> Settings:
    """The settings, with `--data-dir` over CLUBPENGU_DATA_DIR. Raises ConfigError."""
    settings = load_settings()
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None:
        settings = settings.with_overrides(data_dir=Path(data_dir))
    return settings


def with_settings(command: Callable[[Settings, argparse.Namespace], ExitCode]) -> Run:
    """Load settings (one clear line and exit 2 on a bad value), then run `command`."""

    def run(args: argparse.Namespace) -> ExitCode:
        try:
            settings = command_settings(args)
        except ConfigError as error:
            return configuration_error(error)
        configure_logging("warning", settings.node_id)
        return command(settings, args)

    return run
