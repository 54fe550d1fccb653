"""Every data command finds its database the same way, says which it used, and a command
that reads never creates one: run as processes, from another directory."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from clubpengu.cli.database import masked_uri
from tests.support import CLUBPENGU, Wallet

READ_COMMANDS = [
    ["ledger", "verify"],
    ["report"],
    ["admin", "history", "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"],
]


def _run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB", "CLUBPENGU"))}
    return subprocess.run(
        [str(CLUBPENGU), *argv], env={**base, **env}, cwd=cwd,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("argv", READ_COMMANDS, ids=" ".join)
def test_a_read_only_command_in_a_directory_with_no_database_exits_4_and_creates_none(
    argv: list[str], tmp_path: Path
) -> None:
    done = _run(argv, tmp_path)

    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    assert "OK" not in done.stderr
    assert f"no database in {tmp_path / 'var' / 'mongo'}; nothing was created" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_empty_database_on_mongodb_uri_is_exit_4_too(mongo_uri: str, tmp_path: Path) -> None:
    done = _run(["ledger", "verify"], tmp_path, MONGODB_URI=mongo_uri, MONGODB_DB="nothing_here")

    assert done.returncode == 4
    assert "database 'nothing_here'" in done.stderr and "no such database" in done.stderr


def test_import_then_verify_report_and_history_with_data_dir_from_elsewhere(
    tmp_path: Path,
) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    wallet = Wallet().address
    save = {"walletAddress": wallet, "localData": {"clubpenguin_save": {"coins": 30}}}
    (tmp_path / "saves.jsonl").write_text(json.dumps(save) + "\n")

    imported = _run(
        ["import-saves", str(tmp_path / "saves.jsonl"), "--data-dir", str(data)], elsewhere
    )
    verified = _run(["ledger", "verify", "--data-dir", str(data)], elsewhere)
    history = _run(["admin", "history", wallet, "--data-dir", str(data)], elsewhere)

    assert imported.returncode == 0, imported.stderr
    assert f"clubpengu: using database 'clubpengu', embedded database in {data}" in imported.stderr
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ledger verify: 1 users, 1 transactions, OK")
    assert f"embedded database in {data}" in verified.stderr
    assert history.returncode == 0 and "audit:migration" in history.stdout
    assert list(elsewhere.iterdir()) == []


def test_a_uri_is_printed_with_its_password_masked() -> None:
    uri = "mongodb://app:s3cret@db:27017/?replicaSet=rs0&authMechanismProperties=TOKEN:x"

    assert masked_uri(uri) == (
        "mongodb://app:***@db:27017/?replicaSet=rs0&authMechanismProperties=***"
    )


def test_erase_with_data_dir_from_elsewhere_keeps_the_ledger_clean(tmp_path: Path) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    wallet = Wallet().address
    save = {"walletAddress": wallet, "localData": {"clubpenguin_save": {"coins": 30}}}
    (tmp_path / "saves.jsonl").write_text(json.dumps(save) + "\n")
    imported = _run(
        ["import-saves", str(tmp_path / "saves.jsonl"), "--data-dir", str(data)], elsewhere
    )
    assert imported.returncode == 0, imported.stderr

    erased = _run(
        ["admin", "erase", wallet, "--reason", "GDPR request 9", "--data-dir", str(data)],
        elsewhere,
    )
    verified = _run(["ledger", "verify", "--data-dir", str(data)], elsewhere)

    assert erased.returncode == 0, erased.stderr
    assert f"embedded database in {data}" in erased.stderr
    assert json.loads(erased.stdout)["status"] == "done"
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert list(elsewhere.iterdir()) == []
