"""The analysts' report on a known data set, its query plans, and its CLI outputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pymongo import AsyncMongoClient

from clubpengu.cli import main
from clubpengu.services.report import explain, run_report, sections
from tests.conftest import TEST_DB

DAY1 = datetime(2026, 11, 1, 10, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
OUTSIDE = datetime(2026, 10, 1, tzinfo=UTC)


# Far from expiring: the database's TTL sweep (every 60 s) would take an expired event
# away in the middle of a test.
KEEP = datetime.now(UTC) + timedelta(days=1)


def _event(kind: str, wallet: str | None, at: datetime) -> dict[str, Any]:
    return {"kind": kind, "walletAddress": wallet, "at": at, "data": {}, "expiresAt": KEEP}


def _tx(
    wallet: str, amount: int, type_: str, at: datetime, item: str | None = None
) -> dict[str, Any]:
    return {
        "walletAddress": wallet, "amount": amount, "balanceAfter": 0, "type": type_,
        "proof": {"itemId": item} if item else {}, "actor": "system",
        "idempotencyKey": f"{wallet}-{type_}-{at.isoformat()}-{amount}-{item}", "createdAt": at,
    }  # fmt: skip


@pytest.fixture
async def seeded(mongo_client: AsyncMongoClient[dict[str, Any]]) -> None:
    db = mongo_client[TEST_DB]
    await db.events.insert_many([
        _event("sign_in", "A", DAY1), _event("join", "A", DAY1), _event("sign_in", "B", DAY1),
        _event("sign_in_failed", None, DAY1), _event("sign_in_failed", "C", DAY1),
        _event("sign_in", "A", DAY2), _event("sign_in", "A", OUTSIDE),
    ])  # fmt: skip
    await db.users.insert_many([
        {"walletAddress": "A", "username": "a", "createdAt": DAY1},
        {"walletAddress": "B", "username": "b", "createdAt": DAY1},
        {"walletAddress": "C", "username": "c", "createdAt": DAY2},
        {"walletAddress": "D", "username": "d", "createdAt": OUTSIDE},
    ])  # fmt: skip
    await db.transactions.insert_many([
        _tx("A", 500, "admin_grant", DAY1), _tx("A", -100, "purchase", DAY1, "hat_red"),
        _tx("B", -100, "purchase", DAY2, "hat_red"), _tx("B", -50, "purchase", DAY2, "pin_star"),
        _tx("B", 25, "daily_bonus", DAY2), _tx("A", 999, "admin_grant", OUTSIDE),
    ])  # fmt: skip
    await db.matches.insert_many([
        {"game": "tictactoe", "status": "completed", "createdAt": DAY1},
        {"game": "tictactoe", "status": "aborted", "createdAt": DAY1},
        {"game": "connect_four", "status": "completed", "createdAt": DAY2},
        {"game": "connect_four", "status": "completed", "createdAt": OUTSIDE},
    ])  # fmt: skip
    await db.puffles.insert_many([
        {"ownerWallet": "A", "name": "Blu", "color": "blue", "adoptedAt": DAY1},
        {"ownerWallet": "B", "name": "Red", "color": "red", "adoptedAt": DAY2},
        {"ownerWallet": "B", "name": "Old", "color": "red", "adoptedAt": OUTSIDE},
    ])  # fmt: skip


async def test_the_report_counts_the_known_data_set(
    seeded: None, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    report = await run_report(mongo_client[TEST_DB], START, END)

    assert report["daily_active_players"] == [
        {"day": "2026-11-01", "players": 2},
        {"day": "2026-11-02", "players": 1},
    ]
    assert report["new_players"] == [
        {"day": "2026-11-01", "players": 2},
        {"day": "2026-11-02", "players": 1},
    ]
    assert report["sign_ins"] == [
        {"day": "2026-11-01", "succeeded": 2, "failed": 2},
        {"day": "2026-11-02", "succeeded": 1, "failed": 0},
    ]
    assert report["coin_flow"] == [
        {"type": "admin_grant", "created": 500, "destroyed": 0, "entries": 1},
        {"type": "daily_bonus", "created": 25, "destroyed": 0, "entries": 1},
        {"type": "purchase", "created": 0, "destroyed": 250, "entries": 3},
    ]
    assert report["top_purchased_items"] == [
        {"item": "hat_red", "purchases": 2},
        {"item": "pin_star", "purchases": 1},
    ]
    assert report["matches"] == [
        {"game": "connect_four", "started": 1, "completed": 1, "completion_rate": 1.0},
        {"game": "tictactoe", "started": 2, "completed": 1, "completion_rate": 0.5},
    ]
    assert report["puffles_adopted"] == [
        {"color": "blue", "adopted": 1},
        {"color": "red", "adopted": 1},
    ]


@pytest.mark.parametrize("name", [s.name for s in sections(START, END)])
async def test_each_section_walks_an_index(
    mongo_client: AsyncMongoClient[dict[str, Any]], name: str
) -> None:
    section = next(s for s in sections(START, END) if s.name == name)

    plan = await explain(mongo_client[TEST_DB], section)

    assert "IXSCAN" in json.dumps(plan, default=str)
    assert "COLLSCAN" not in json.dumps(plan, default=str)


async def test_the_cli_writes_json_csv_and_charts(
    seeded: None,
    mongo_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", TEST_DB)

    code = await _run_cli(
        ["report", "--from", "2026-11-01", "--to", "2026-11-03", "--json",
         "--csv", str(tmp_path / "csv"), "--chart", str(tmp_path / "charts")]
    )  # fmt: skip

    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["coin_flow"][2]["destroyed"] == 250
    assert (tmp_path / "csv" / "coin_flow.csv").read_text().splitlines()[0] == (
        "type,created,destroyed,entries"
    )
    for name in ("daily_active_players.png", "coin_flow.png"):
        with Image.open(tmp_path / "charts" / name) as image:
            assert image.format == "PNG" and image.size[0] > 100


async def test_the_cli_prints_tables(
    seeded: None, mongo_uri: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", TEST_DB)

    code = await _run_cli(["report", "--from", "2026-11-01", "--to", "2026-11-03"])

    out = capsys.readouterr().out
    assert code == 0
    assert "daily active players" in out and "hat_red" in out


async def _run_cli(argv: list[str]) -> int:
    # The CLI runs its own event loop; keep it off the test's loop.
    import asyncio

    return await asyncio.to_thread(main, argv)


async def test_charts_cover_every_section_and_days_without_data_are_zero(
    seeded: None,
    mongo_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", TEST_DB)

    code = await _run_cli(
        ["report", "--from", "2026-10-30", "--to", "2026-11-06", "--json",
         "--chart", str(tmp_path / "charts")]
    )  # fmt: skip

    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    days = [row["day"] for row in printed["daily_active_players"]]
    assert days == [f"2026-{d}" for d in ("10-30", "10-31", "11-01", "11-02", "11-03",
                                          "11-04", "11-05")]  # fmt: skip
    assert printed["new_players"][0] == {"day": "2026-10-30", "players": 0}
    assert printed["sign_ins"][-1] == {"day": "2026-11-05", "succeeded": 0, "failed": 0}
    for section in sections(START, END):
        with Image.open(tmp_path / "charts" / f"{section.name}.png") as image:
            assert image.format == "PNG"


def test_the_default_range_is_the_console_s_30_utc_days_ending_today() -> None:
    from clubpengu.services.report import default_range

    start, end = default_range(datetime(2026, 11, 25, 23, 59, tzinfo=UTC))

    assert (start, end) == (datetime(2026, 10, 27, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC))
