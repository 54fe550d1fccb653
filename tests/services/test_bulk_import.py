"""The bulk import of localStorage saves against the real database."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from clubpengu.cli import main
from clubpengu.config import DEFAULT_CHAT_FILTER_WORDS
from clubpengu.models import AuditLog, Transaction, User
from clubpengu.services.bulk_import import BulkImporter
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.migration_plan import MigrationPlanner
from clubpengu.services.names import NamePolicy
from clubpengu.wordfilter import WordFilter
from tests.conftest import TEST_DB
from tests.support import CLUBPENGU, Wallet
from tests.waiting import eventually

POLICY = NamePolicy(WordFilter(DEFAULT_CHAT_FILTER_WORDS))


def _write_saves(path: Path, count: int, *, bad_lines: int = 0) -> list[str]:
    wallets = [Wallet().address for _ in range(count)]
    with path.open("w") as handle:
        for n, wallet in enumerate(wallets):
            local = {
                "penguin_name": f"Pengu{n}",
                "clubpenguin_save": {"coins": n % 7 * 10, "stamps": ["first_login"]},
                "unlocked_cosmetics": ["party_hat"],
            }
            handle.write(json.dumps({"walletAddress": wallet, "localData": local}) + "\n")
        for n in range(bad_lines):
            handle.write(
                ["not json", json.dumps({"walletAddress": "nope", "localData": {}})][n % 2]
            )
            handle.write("\n")
    return wallets


def _importer(mongo_client: Any, batch_size: int = 50) -> BulkImporter:
    planner = MigrationPlanner.for_catalog(load_catalog(), max_coins=50_000, max_puffles=10)
    economy = EconomyService(mongo_client, TEST_DB)
    return BulkImporter(economy, planner, batch_size=batch_size, actor="import:test")


async def test_a_save_s_taken_name_is_given_a_number_and_reported(
    mongo_client: Any, tmp_path: Path
) -> None:
    await User(wallet_address=Wallet().address, username="pengu1").insert()
    path = tmp_path / "saves.jsonl"
    wallets = _write_saves(path, 3)
    with path.open("a") as handle:  # a second save wishing for a name of the same file
        extra = Wallet().address
        local = {"penguin_name": "PENGU2"}
        handle.write(json.dumps({"walletAddress": extra, "localData": local}) + "\n")

    report = await _importer(mongo_client).run(path)

    names = {u.wallet_address: u.username for u in await User.find_all().to_list()}
    assert names[wallets[0]] == "Pengu0" and names[wallets[2]] == "Pengu2"
    assert names[wallets[1]] == "Pengu12"
    assert names[extra] == "PENGU22"
    assert report.renamed == 2
    assert {(r["wished"], r["given"]) for r in report.renamed_names} == {
        ("Pengu1", "Pengu12"),
        ("PENGU2", "PENGU22"),
    }
    assert "renamed (taken)    2" in report.as_text()


async def test_a_dry_run_writes_nothing(mongo_client: Any, tmp_path: Path) -> None:
    _write_saves(tmp_path / "saves.jsonl", 30, bad_lines=2)

    report = await _importer(mongo_client).run(tmp_path / "saves.jsonl", dry_run=True)

    assert (report.read, report.imported, report.invalid) == (32, 30, 2)
    assert await User.count() == 0 and await Transaction.count() == 0


async def test_an_import_writes_users_ledger_and_audit_and_a_rerun_adds_nothing(
    mongo_client: Any, tmp_path: Path
) -> None:
    wallets = _write_saves(tmp_path / "saves.jsonl", 120, bad_lines=3)
    await User(wallet_address=wallets[0], username="AlreadyHere").insert()

    first = await _importer(mongo_client).run(tmp_path / "saves.jsonl")
    second = await _importer(mongo_client).run(tmp_path / "saves.jsonl")

    expected_coins = sum(n % 7 * 10 for n in range(1, 120))
    assert (first.imported, first.skipped_existing, first.invalid) == (119, 1, 3)
    assert first.coins_imported == expected_coins
    assert first.verified == 119 and first.verification_failures == []
    assert (second.imported, second.skipped_existing) == (0, 120)
    assert await User.count() == 120
    assert await AuditLog.count() == 119
    entries = await Transaction.find(Transaction.type == "migration").to_list()
    assert sum(e.amount for e in entries) == expected_coins
    user = await User.find_one(User.wallet_address == wallets[5])
    assert user is not None
    assert (user.username, user.coins, user.unlocked_cosmetics) == ("Pengu5", 50, ["party_hat"])
    verify = await EconomyService(mongo_client, TEST_DB).verify_ledger()
    assert verify.ok


async def test_the_import_keeps_granting_exclusives_and_reports_them(
    mongo_client: Any, tmp_path: Path
) -> None:
    forged = [Wallet().address for _ in range(3)]
    honest = Wallet().address
    path = tmp_path / "saves.jsonl"
    with path.open("w") as handle:
        for wallet in forged:  # three crafted lines: the issue's
            local = {"clubpenguin_save": {"coins": 50_000},
                     "unlocked_cosmetics": ["crown", "gold_medal", "party_hat"],
                     "unlocked_mounts": ["penguin_band_bus"]}  # fmt: skip
            handle.write(json.dumps({"walletAddress": wallet, "localData": local}) + "\n")
        local = {"unlocked_cosmetics": ["party_hat"]}
        handle.write(json.dumps({"walletAddress": honest, "localData": local}) + "\n")

    report = await _importer(mongo_client).run(path)

    assert (report.imported, report.coins_imported) == (4, 150_000)  # as before: trusted
    assert report.saves_with_exclusives == 3
    assert report.exclusives == {"crown": 3, "gold_medal": 3, "penguin_band_bus": 3}
    assert [line["line"] for line in report.exclusive_lines] == [1, 2, 3]
    assert report.exclusive_lines[0] == {
        "line": 1, "walletAddress": forged[0], "items": ["crown", "gold_medal", "penguin_band_bus"]
    }  # fmt: skip
    assert "EXCLUSIVE          crown: 3 saves" in report.as_text()
    user = await User.find_one(User.wallet_address == forged[0])
    assert user is not None and user.coins == 50_000 and "crown" in user.unlocked_cosmetics


async def test_imported_names_meet_the_name_policy_and_never_pass_for_staff(
    mongo_client: Any, tmp_path: Path
) -> None:
    wallets = [Wallet().address for _ in range(3)]
    path = tmp_path / "saves.jsonl"
    with path.open("w") as handle:  # staff twice, then a disguised filtered word
        for wallet, name in zip(wallets, ["Club Pengu Staff", "Club Pengu Staff", "L.O.S.E.R"],
                                strict=True):  # fmt: skip
            local = {"penguin_name": name, "clubpenguin_save": {"coins": 10}}
            handle.write(json.dumps({"walletAddress": wallet, "localData": local}) + "\n")

    report = await _importer(mongo_client).run(path)

    assert report.imported == 3
    users = {u.wallet_address: u for u in await User.find_all().to_list()}
    names = [users[wallet].username for wallet in wallets]
    assert all(POLICY.username_problem(name) is None for name in names), names
    assert len({name.lower() for name in names}) == 3
    assert not any("staff" in name.lower() or "ser" in name.lower() for name in names)


class _SignInDuringTheImport(BulkImporter):
    """Inserts a user for `wallet` right after the batch's existence check: a player who
    signs in between the check and the batch's transaction."""

    def __init__(self, wallet: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wallet = wallet

    async def _existing(self, wallets: list[str]) -> set[str]:
        found = await super()._existing(wallets)
        if self.wallet in wallets and not await User.find_one(User.wallet_address == self.wallet):
            await User(wallet_address=self.wallet, username="SignedIn").insert()
        return found


async def test_a_wallet_that_signs_in_during_the_import_is_skipped_not_fatal(
    mongo_client: AsyncMongoClient[dict[str, Any]], tmp_path: Path
) -> None:
    wallets = _write_saves(tmp_path / "saves.jsonl", 40)
    planner = MigrationPlanner.for_catalog(load_catalog(), max_coins=50_000, max_puffles=10)
    economy = EconomyService(mongo_client, TEST_DB)
    importer = _SignInDuringTheImport(wallets[15], economy, planner, batch_size=20)

    report = await importer.run(tmp_path / "saves.jsonl")

    assert (report.imported, report.skipped_existing, report.verified) == (39, 1, 39)
    signed_in = await User.find_one(User.wallet_address == wallets[15])
    assert signed_in is not None and (signed_in.username, signed_in.coins) == ("SignedIn", 0)
    assert await User.count() == 40 and await AuditLog.count() == 39
    assert await Transaction.find(Transaction.wallet_address == wallets[15]).count() == 0
    assert (await economy.verify_ledger()).ok


async def test_an_unreadable_file_fails_the_import_instead_of_hanging(
    mongo_client: AsyncMongoClient[dict[str, Any]], tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        await asyncio.wait_for(_importer(mongo_client).run(tmp_path / "missing.jsonl"), 30)

    assert await User.count() == 0


async def test_a_database_failure_stops_the_import_with_its_error_and_whole_batches_only(
    mongo_client: AsyncMongoClient[dict[str, Any]], tmp_path: Path
) -> None:
    _write_saves(tmp_path / "saves.jsonl", 100)
    command = {"configureFailPoint": "failCommand", "mode": {"times": 1}}
    data = {"failCommands": ["insert"], "errorCode": 2}  # BadValue: not retried

    await mongo_client.admin.command({**command, "data": data})
    try:
        with pytest.raises(OperationFailure):
            await asyncio.wait_for(
                _importer(mongo_client, batch_size=10).run(tmp_path / "saves.jsonl"), 30
            )
    finally:
        await mongo_client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})

    assert await User.count() == 0 and await AuditLog.count() == 0
    assert await Transaction.count() == 0


async def test_the_cli_reports_as_text_and_json(
    mongo_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _write_saves(tmp_path / "saves.jsonl", 10, bad_lines=1)
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", TEST_DB)
    argv = ["import-saves", str(tmp_path / "saves.jsonl"), "--report", str(tmp_path / "r.json")]

    code = await asyncio.to_thread(main, argv)

    report = json.loads((tmp_path / "r.json").read_text())
    assert code == 0
    assert (report["read"], report["imported"], report["invalid"]) == (11, 10, 1)
    assert report["invalid_lines"] == [{"line": 11, "reason": "not JSON"}]
    assert "imported           10" in capsys.readouterr().out


@pytest.mark.slow
async def test_an_import_killed_half_way_finishes_exactly_once_when_rerun(
    mongo_client: Any, mongo_uri: str, tmp_path: Path
) -> None:
    saves = tmp_path / "saves.jsonl"
    _write_saves(saves, 3000)
    env = {**os.environ, "MONGODB_URI": mongo_uri, "MONGODB_DB": TEST_DB}
    command = [str(CLUBPENGU), "import-saves", str(saves), "--batch-size", "100"]

    process = subprocess.Popen(  # noqa: ASYNC220 - started once, polled below
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await eventually(
        User.count,
        "300 saves in",
        ready=lambda n: n >= 300 or process.poll() is not None,
        timeout=30,
    )
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = await User.count()
    rerun = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=300
    )

    assert 0 < partial < 3000, "the first run must have been cut short"
    assert rerun.returncode == 0, rerun.stderr
    assert await User.count() == 3000
    assert await Transaction.count() == len([n for n in range(3000) if n % 7])
    assert await AuditLog.count() == 3000
    assert (await EconomyService(mongo_client, TEST_DB).verify_ledger()).ok


async def test_the_cli_draws_a_progress_bar_on_a_terminal(
    mongo_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    _write_saves(tmp_path / "saves.jsonl", 30)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", TEST_DB)
    argv = ["import-saves", str(tmp_path / "saves.jsonl"), "--batch-size", "10"]

    code = await asyncio.to_thread(main, argv)

    updates = terminal.getvalue().split("\r")[1:]
    assert code == 0
    assert len(updates) >= 3
    assert updates[-1].startswith("[" + "#" * 30 + "] imported 30/30 saves (100%), ")
    assert "saves/s, 0s left, 0 invalid, 0 skipped" in updates[-1]
    assert terminal.getvalue().endswith("\n")


async def test_progress_counts_saves_not_bytes_when_the_saves_differ_in_size(
    mongo_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The first third of the file is nearly all its bytes: a bar of bytes read would say
    ~95 % after it; one of saves says 33 %."""
    path = tmp_path / "saves.jsonl"
    with path.open("w") as handle:
        for n in range(30):
            local: dict[str, Any] = {"penguin_name": f"Pengu{n}"}
            if n < 10:
                local["diary"] = "x" * 20_000  # an unknown field: dropped, but read
            handle.write(json.dumps({"walletAddress": Wallet().address, "localData": local}))
            handle.write("\n")
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", TEST_DB)

    code = await asyncio.to_thread(main, ["import-saves", str(path), "--batch-size", "10"])

    lines = [line for line in plain.getvalue().splitlines() if " saves (" in line]
    assert code == 0
    assert any(line.startswith("imported 10/30 saves (33%)") for line in lines), lines
    for line in lines:
        done, total, share = map(int, re.findall(r"(\d+)/(\d+) saves \((\d+)%\)", line)[0])
        assert share == round(100 * done / total), line
