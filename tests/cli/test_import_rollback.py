"""`clubpengu import-saves`: plain progress lines off a terminal, the dry run's wording,
the dropped fields named; and `--rollback RUN`, dry by default, idempotent, after which a
removed player's save can be brought again (imported, or in game)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.cli import main
from clubpengu.db import init_models
from clubpengu.errors import Conflict
from clubpengu.models import User
from clubpengu.models.base import utcnow
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.migration import MigrationService
from clubpengu.services.migration_keys import key_wallet, migration_key
from clubpengu.services.migration_plan import MigrationPlanner
from clubpengu.services.names import default_username
from tests.conftest import TEST_DB
from tests.support import Wallet

Client = AsyncMongoClient[dict[str, Any]]


@pytest.fixture(autouse=True)
def database_env(monkeypatch: pytest.MonkeyPatch, mongo_uri: str) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", TEST_DB)


def _saves(path: Path, count: int) -> list[str]:
    wallets = [Wallet().address for _ in range(count)]
    lines = [
        json.dumps({"walletAddress": w, "localData": {
            "clubpenguin_save": {"coins": 20, "stamps": ["first_login", "nope1"]},
            "mystery": 1,
        }})
        for w in wallets
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return wallets


async def _cli(client: Client, *argv: str) -> int:
    code = await asyncio.to_thread(main, list(argv))
    await init_models(client, TEST_DB)
    return code


async def test_a_dry_run_says_would_import_names_dropped_fields_and_prints_progress_lines(
    mongo_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await mongo_client[TEST_DB].users.insert_one({"walletAddress": "x", "coins": 0})
    _saves(tmp_path / "saves.jsonl", 12)

    code = await _cli(mongo_client, "import-saves", str(tmp_path / "saves.jsonl"), "--dry-run",
                      "--batch-size", "4")  # fmt: skip

    out, err = capsys.readouterr()
    assert code == 0
    assert "would import       12" in out and "imported" not in out
    assert "DROPPED            mystery: 12" in out
    # Not a terminal: plain lines, in saves, with the rate and the time left.
    assert re.search(r"^checked 12/12 saves \(100%\), [\d,]+ saves/s, 0s left", err, re.M)
    assert "\r" not in err
    assert await mongo_client[TEST_DB].users.count_documents({}) == 1


async def test_rollback_is_dry_first_then_removes_the_unplayed_and_keeps_the_played(
    mongo_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = mongo_client[TEST_DB]
    wallets = _saves(tmp_path / "saves.jsonl", 3)
    assert await _cli(mongo_client, "import-saves", str(tmp_path / "saves.jsonl")) == 0
    run = re.search(r"--rollback (\S+)`", capsys.readouterr().out)
    assert run is not None
    run_id = run.group(1)
    played, bought = wallets[0], wallets[1]
    await db.users.update_one(
        {"walletAddress": played}, {"$set": {"lastLoginAt": datetime.now(UTC)}}
    )
    await EconomyService(mongo_client, TEST_DB).apply(
        bought, -5, "purchase", idempotency_key="buy-1", proof={"itemId": "hat"}
    )

    dry = await _cli(mongo_client, "import-saves", "--rollback", run_id)
    dry_out = capsys.readouterr().out
    applied = await _cli(mongo_client, "import-saves", "--rollback", run_id, "--yes")
    applied_out = capsys.readouterr().out
    again = await _cli(mongo_client, "import-saves", "--rollback", run_id, "--yes")
    again_out = capsys.readouterr().out
    verify = await _cli(mongo_client, "ledger", "verify")

    assert (dry, applied, again, verify) == (0, 0, 0, 0)
    assert "would be removed         1" in dry_out and "dry run" in dry_out
    assert (
        "  removed                  1" in applied_out
        and "coins reversed           20" in applied_out
    )
    assert f"KEPT {played}: signed in" in applied_out
    assert f"KEPT {bought}: a ledger entry since (purchase)" in applied_out
    assert "already removed          1" in again_out and "  removed                  0" in again_out
    remaining = {doc["walletAddress"] async for doc in db.users.find({})}
    assert remaining == {played, bought}
    [reversal] = await db.transactions.find({"type": "import_rollback"}).to_list()
    assert (reversal["walletAddress"], reversal["amount"]) == (wallets[2], -20)


async def test_rollback_of_an_unknown_run_exits_1(
    mongo_client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    await mongo_client[TEST_DB].users.insert_one({"walletAddress": "x", "coins": 0})

    code = await _cli(mongo_client, "import-saves", "--rollback", "nope")

    assert code == 1
    assert "no import run 'nope'" in capsys.readouterr().err


async def _import(client: Client, path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Import `path`; the run's id."""
    assert await _cli(client, "import-saves", str(path)) == 0
    run = re.search(r"--rollback (\S+)`", capsys.readouterr().out)
    assert run is not None
    return run.group(1)


async def _keys(client: Client, wallet: str) -> list[tuple[str, int, str]]:
    entries = client[TEST_DB].transactions.find({"walletAddress": wallet}).sort("_id", 1)
    return [(e["type"], e["amount"], e["idempotencyKey"]) async for e in entries]


async def test_a_rolled_back_save_can_be_imported_again_and_rolled_back_again(
    mongo_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = mongo_client[TEST_DB]
    path = tmp_path / "saves.jsonl"
    first, second = _saves(path, 2)
    runs = [await _import(mongo_client, path, capsys)]
    assert await _cli(mongo_client, "import-saves", "--rollback", runs[0], "--yes") == 0
    runs.append(await _import(mongo_client, path, capsys))
    imported_again = await db.users.count_documents({"walletAddress": {"$in": [first, second]}})
    assert await _cli(mongo_client, "import-saves", "--rollback", runs[1], "--yes") == 0
    runs.append(await _import(mongo_client, path, capsys))
    verify = await _cli(mongo_client, "ledger", "verify")

    assert imported_again == 2
    user = await db.users.find_one({"walletAddress": first})
    assert user is not None and user["coins"] == 20
    assert await _keys(mongo_client, first) == [
        ("migration", 20, f"migration:{first}"),
        ("import_rollback", -20, f"import_rollback:{runs[0]}:{first}"),
        ("migration", 20, f"migration:{first}:1"),
        ("import_rollback", -20, f"import_rollback:{runs[1]}:{first}"),
        ("migration", 20, f"migration:{first}:2"),
    ]
    marked = await db.import_runs.find({"rollbackBegunAt": {"$ne": None}}).to_list()
    assert sorted(run["_id"] for run in marked) == sorted(runs[:2])
    assert verify == 0


async def test_a_rolled_back_player_can_bring_their_save_in_game_once(
    mongo_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "saves.jsonl"
    [wallet] = _saves(path, 1)
    run_id = await _import(mongo_client, path, capsys)
    assert await _cli(mongo_client, "import-saves", "--rollback", run_id, "--yes") == 0
    # The player signs in afresh (a new account), then brings the save from the browser.
    await User(wallet_address=wallet, username=default_username(), created_at=utcnow()).insert()
    economy = EconomyService(mongo_client, TEST_DB)
    planner = MigrationPlanner.for_catalog(load_catalog(), max_coins=1000, max_puffles=2)
    migration = MigrationService(economy, planner)
    save = {"clubpenguin_save": {"coins": 20}}

    result = await migration.migrate(wallet, save)
    with pytest.raises(Conflict):
        await migration.migrate(wallet, save)

    assert (result.status, result.balance) == ("applied", 20)
    assert [key for _, _, key in await _keys(mongo_client, wallet)] == [
        f"migration:{wallet}",
        f"import_rollback:{run_id}:{wallet}",
        f"migration:{wallet}:1",
    ]
    assert await _cli(mongo_client, "ledger", "verify") == 0


def test_a_migration_key_names_its_wallet_in_every_generation() -> None:
    assert migration_key("W1") == "migration:W1" and migration_key("W1", 2) == "migration:W1:2"
    assert key_wallet("migration:W1") == key_wallet("migration:W1:2") == "W1"
    assert key_wallet("import_rollback:run:W1") is None and key_wallet("migration:") is None
