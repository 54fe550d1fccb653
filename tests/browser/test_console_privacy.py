"""A player's data on the console's player page, in Chromium: the devices and connections
card (every staff role), and the admins' export (a JSON file downloaded) and erasure (a
reason, then a confirmation; "Keep" erases nothing) — docs/privacy.md."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import expect
from pymongo.asynchronous.database import AsyncDatabase

from tests.browser.support import Site, Tab, Tabs, open_console, screenshot
from tests.browser.test_console_staff import open_player, penguin
from tests.realtime.support import closed_with
from tests.support import Wallet, connect, sign_in
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

Db = AsyncDatabase[dict[str, Any]]


@pytest.fixture(scope="module")
async def admin(tabs: Tabs, site: Site) -> AsyncIterator[Tab]:
    tab = await open_console(tabs, site, "privacy-admin", site.admin)
    yield tab
    await tabs.close(tab)


@pytest.fixture(scope="module")
async def moderator(tabs: Tabs, site: Site) -> AsyncIterator[Tab]:
    tab = await open_console(tabs, site, "privacy-moderator", site.moderator)
    yield tab
    await tabs.close(tab)


def ws_url(site: Site) -> str:
    return site.url.replace("http", "ws") + "/ws"


async def history(db: Db, wallet: Wallet, count: int) -> list[dict[str, Any]]:
    """The wallet's connection history once `count` entries, all signed in, are written
    (the node writes it in the background)."""

    async def written() -> list[dict[str, Any]] | None:
        entries = await db.connection_logs.find({"walletAddress": wallet.address}).to_list()
        return entries if len(entries) == count else None

    found: list[dict[str, Any]] = await eventually(written, f"{count} connection entries")
    return found


async def test_a_moderator_sees_the_players_devices_and_connections(
    moderator: Tab, site: Site, db: Db
) -> None:
    wallet = Wallet()
    for _ in range(2):  # one phone, connected twice: one reconnect
        async with connect(ws_url(site)) as client:
            await sign_in(client, wallet, clientDeviceId="phone-of-carol")
    live, _, _ = await penguin(site, wallet)  # no device id, still open
    entries = await history(db, wallet, 3)
    await eventually(
        lambda: db.connection_logs.count_documents(
            {"walletAddress": wallet.address, "disconnectedAt": {"$ne": None}}
        ),
        "both phone connections closed",
    )
    phone = next(e["deviceHash"] for e in entries if e.get("deviceHash"))
    now = datetime.now(UTC)
    await db.connection_logs.insert_one(
        {"nodeId": "node-gone", "connectionId": "c-restart", "walletAddress": wallet.address,
         "connectedAt": now - timedelta(hours=2), "disconnectedAt": now - timedelta(hours=1),
         "closedBy": "restart", "roomsVisited": [], "expiresAt": now + timedelta(days=1)}
    )  # fmt: skip
    page = moderator.page

    await open_player(moderator, wallet.address)

    card = page.locator("#card-devices")
    await expect(card.locator("h3")).to_have_text("Devices and connections")
    phone_row = page.locator(f'#player-devices-table tr[data-device="{phone}"]')
    await expect(phone_row.locator('td[data-key="connections"]')).to_have_text("2")
    await expect(phone_row.locator('td[data-key="reconnects"]')).to_have_text("1")
    await expect(phone_row.locator('td[data-key="deviceHash"]')).to_have_text(f"{phone[:12]}…")
    unnamed = page.locator('#player-devices-table tr[data-device=""]')
    await expect(unnamed.locator('td[data-key="deviceHash"]')).to_have_text("not sent")
    await expect(unnamed.locator('td[data-key="open"]')).to_have_text("1")
    rows = page.locator("#player-connections-table tbody tr")
    await expect(rows).to_have_count(4)
    left = page.locator('#player-connections-table td[data-key="disconnectedAt"]')
    await expect(left.filter(has_text="open")).to_have_count(1)
    await expect(left.filter(has_text="(node restarted)")).to_have_count(1)
    await expect(card).not_to_contain_text("phone-of-carol")  # only its keyed hash is kept
    assert await page.locator("#card-data").count() == 0  # export and erasure: admins only
    await live.close()


async def test_an_admin_downloads_the_players_export_and_it_is_audited(
    admin: Tab, site: Site, db: Db
) -> None:
    client, wallet, _ = await penguin(site)
    page = admin.page
    await open_player(admin, wallet.address)

    async with page.expect_download() as started:
        await page.click("#data-export")
    download = await started.value

    assert download.suggested_filename == f"clubpengu-export-{wallet.address}.json"
    document = json.loads((await download.path()).read_text())
    assert document["schema"] == "clubpengu.data-export"
    assert document["walletAddress"] == wallet.address
    assert document["collections"]["users"][0]["walletAddress"] == wallet.address
    await expect(page.locator("#data-result")).to_contain_text("Export saved")
    audit = await db.audit_logs.find_one({"action": "data.export", "target": wallet.address})
    assert audit is not None and audit["actor"] == site.admin.address
    await client.close()


async def test_an_erasure_needs_a_reason_and_a_confirmation_and_keep_erases_nothing(
    admin: Tab, site: Site, db: Db
) -> None:
    client, wallet, _ = await penguin(site)
    page = admin.page
    await open_player(admin, wallet.address)

    await page.click("#erase-ask")  # no reason yet
    await expect(page.locator("#data-result")).to_contain_text("Give a reason")
    await expect(page.locator("#erase-reason")).to_be_focused()
    await expect(page.locator("#erase-confirm-box")).to_be_hidden()
    await page.fill("#erase-reason", "GDPR request 7781")
    await page.click("#erase-ask")
    await expect(page.locator("#erase-confirm-box")).to_be_visible()
    await expect(page.locator("#erase-keep")).to_be_focused()  # a stray Enter keeps the data
    await screenshot(page, "console-player-data.png")
    await page.keyboard.press("Enter")

    await expect(page.locator("#erase-confirm-box")).to_be_hidden()
    await expect(page.locator("#data-result")).to_have_text("Nothing was erased.")
    assert await db.users.count_documents({"walletAddress": wallet.address}) == 1
    erasures = {"action": "data.erase", "reason": "GDPR request 7781"}
    assert await db.audit_logs.count_documents(erasures) == 0

    await page.click("#erase-ask")
    await page.click("#erase-confirm")

    await expect(page.locator("#data-result")).to_contain_text("erased:")
    assert await closed_with(client) == 4003
    assert await db.users.count_documents({"walletAddress": wallet.address}) == 0
    audit = await db.audit_logs.find_one(erasures)
    assert audit is not None and audit["actor"] == site.admin.address
    assert audit["target"].startswith("erased:")
    for control in ("#erase-ask", "#erase-reason", "#data-export"):
        await expect(page.locator(control)).to_be_disabled()
