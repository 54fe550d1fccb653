"""The `clubpengu` command as a whole: its exit codes come from one enum, a bad argument or
setting exits 2 with one line and changes nothing, and every --help says what the
command does and ends with an example that parses."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.cli import ExitCode, build_parser, main
from clubpengu.db import init_models
from clubpengu.models import ALL_MODELS
from tests.conftest import TEST_DB

Client = AsyncMongoClient[dict[str, Any]]
W = "CliWallet" + "d" * 35


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command and subcommand under `parser`, depth first, with its words."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield (*path, name), command
                yield from _commands(command, (*path, name))


COMMANDS = list(_commands(build_parser()))


def test_every_command_group_of_the_package_is_a_subcommand() -> None:
    top = {path[0] for path, _ in COMMANDS}

    assert top == {"serve", "db", "report", "import-saves", "admin", "ledger"}


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_help_says_what_the_command_does_and_ends_with_one_example_line(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    text = parser.format_help()

    assert parser.description and re.fullmatch(r"[A-Z][a-z]+ .+\.", parser.description)
    assert parser.epilog and parser.epilog.startswith("example: ")
    assert parser.prog in parser.epilog
    assert text.rstrip().splitlines()[-1] == parser.epilog  # one line, to copy as it is


LEAVES = [(path, parser) for path, parser in COMMANDS if not parser._subparsers]


@pytest.mark.parametrize(("path", "parser"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_takes_the_data_dir_option(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    """Every command reaches a database (the embedded one, or MONGODB_URI's), so every one
    is pointed at it the same way."""
    options = {option for action in parser._actions for option in action.option_strings}

    assert "--data-dir" in options


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_example_in_the_help_parses_into_its_command(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    assert parser.epilog is not None
    words = shlex.split(parser.epilog.removeprefix("example: "))
    while "=" in words[0]:  # leading VARIABLE=value assignments
        words.pop(0)

    args = build_parser().parse_args(words[1:])

    assert words[0] == "clubpengu" and words[1 : 1 + len(path)] == list(path)
    assert callable(args.func)


def test_the_top_level_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])

    out = capsys.readouterr().out
    assert stopped.value.code == 0
    for code in ExitCode:
        assert re.search(rf"^  {code.value} +[a-z]", out, re.MULTILINE), code


@pytest.mark.parametrize(
    "argv",
    [
        ["report"],
        ["import-saves", "saves.jsonl"],
        ["db", "create-users"],
        ["admin", "history", W],
        ["admin", "adjust-coins", W, "5", "--reason", "test"],
        ["ledger", "verify"],
    ],
    ids=" ".join,
)
async def test_a_bad_setting_stops_every_command_with_one_line_and_exit_2(
    argv: list[str],
    mongo_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MONGODB_MAX_POOL_SIZE", "many")

    code = main(argv)

    assert code is ExitCode.USAGE
    assert capsys.readouterr().err.splitlines() == [
        "clubpengu: configuration error: MONGODB_MAX_POOL_SIZE: expected an integer, got 'many'"
    ]
    assert await _documents(mongo_client) == 0


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["import-saves", "missing.jsonl"], "clubpengu import-saves: no such file: missing.jsonl"),
        (
            ["import-saves", "saves.jsonl", "--batch-size", "0"],
            "clubpengu import-saves: --batch-size must be 1 to 5000",
        ),
        (
            ["report", "--from", "2026-11-02", "--to", "2026-11-01"],
            "clubpengu report: --to must be after --from",
        ),
        (["admin", "history", W, "--limit", "0"], "clubpengu: --limit must be 1 to 10000"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
async def test_a_bad_argument_exits_2_with_one_line_and_changes_nothing(
    argv: list[str],
    line: str,
    mongo_client: Client,
    mongo_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", TEST_DB)
    save = {"walletAddress": W, "localData": {"clubpenguin_save": {"coins": 10}}}
    (tmp_path / "saves.jsonl").write_text(json.dumps(save) + "\n")

    code = await asyncio.to_thread(main, argv)
    await init_models(mongo_client, TEST_DB)  # the command bound the models to its client

    assert code is ExitCode.USAGE
    assert capsys.readouterr().err.splitlines() == [line]
    assert await _documents(mongo_client) == 0


def test_python_dash_m_clubpengu_exits_with_the_command_s_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clubpengu", "report", "--from", "2026-11-02", "--to", "2026-11-01"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert result.returncode == ExitCode.USAGE == 2
    assert result.stderr.splitlines() == ["clubpengu report: --to must be after --from"]


async def _documents(client: Client) -> int:
    database = client[TEST_DB]
    counts = [
        await database[model.get_collection_name()].count_documents({}) for model in ALL_MODELS
    ]
    return sum(counts)
