"""The playground in Chromium: two players sign in with development keys and join the town;
each sees the other, walks, chats, emotes and shops, and the other page shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import base58
import pytest
from playwright.async_api import expect
from pymongo.asynchronous.database import AsyncDatabase

from tests.browser.support import Player, Site, Tabs, enter_town, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium


@dataclass
class Town:
    alice: Player
    bob: Player


@pytest.fixture(scope="module")
async def town(tabs: Tabs, site: Site) -> AsyncIterator[Town]:
    alice = await enter_town(tabs, site, "alice")
    bob = await enter_town(tabs, site, "bob")
    yield Town(alice, bob)
    for player in (alice, bob):
        await tabs.close(player.tab)


async def test_each_player_sees_the_other(town: Town, db: AsyncDatabase[dict[str, Any]]) -> None:
    alice, bob = town.alice, town.bob

    await expect(alice.entry(bob.player_id)).to_have_count(1)
    await expect(bob.entry(alice.player_id)).to_have_count(1)

    users = {u["walletAddress"]: u async for u in db.users.find({})}
    assert users[alice.wallet]["isConnected"] and users[bob.wallet]["isConnected"]
    assert users[alice.wallet]["lastRoom"] == users[bob.wallet]["lastRoom"] == "town"
    await expect(bob.entry(alice.player_id)).to_contain_text(users[alice.wallet]["username"])
    await expect(alice.page.locator("#room-name")).to_have_text("town")


async def test_a_click_to_walk_moves_that_penguin_on_the_other_page(town: Town) -> None:
    alice, bob = town.alice, town.bob
    canvas = alice.page.locator("#room")
    box = await canvas.bounding_box()
    assert box is not None

    await canvas.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.3})

    # The rooms are 1520 by 960: a quarter across and 30 % down is (380, 288).
    await bob.page.wait_for_function(
        """([id, x, y]) => {
             const entry = document.querySelector(`#players li[data-player-id="${id}"]`);
             const near = (a, b) => Math.abs(a - b) <= 2;
             return entry && near(entry.dataset.x, x) && near(entry.dataset.y, y);
           }""",
        arg=[alice.player_id, 380, 288],
    )
    batches = bob.page.locator("#frames li.type-moves", has_text=alice.player_id)
    assert await batches.count() >= 3  # walked there over several ticks, not one jump


async def test_chat_shows_on_both_pages(town: Town) -> None:
    alice, bob = town.alice, town.bob

    await alice.page.fill("#chat-text", "Hello from a real browser")
    await alice.page.press("#chat-text", "Enter")

    for page in (alice.page, bob.page):
        await expect(page.locator("#chat-log")).to_contain_text("Hello from a real browser")
    await expect(alice.page.locator("#chat-text")).to_have_value("")


async def test_an_emote_shows_on_both_pages(town: Town) -> None:
    alice, bob = town.alice, town.bob

    await bob.page.click('#emotes button[data-emote="wave"]')

    for page in (alice.page, bob.page):
        await expect(page.locator("#chat-log li.emote").last).to_have_text(
            await bob.entry(bob.player_id).evaluate("e => e.firstChild.textContent") + " *wave*"
        )


async def test_a_purchase_updates_the_balance_and_the_look_for_the_room(
    town: Town, db: AsyncDatabase[dict[str, Any]]
) -> None:
    alice, bob = town.alice, town.bob
    await expect(alice.page.locator("#coins")).to_have_text("25")  # the daily bonus

    await alice.page.click('#shop-items li[data-item="red"] button.buy')
    await expect(alice.page.locator("#coins")).to_have_text("5")
    await alice.page.click('#shop-items li[data-item="red"] button.wear')

    for page in (alice.page, bob.page):
        await expect(
            page.locator(f'#players li[data-player-id="{alice.player_id}"]')
        ).to_have_attribute("data-look", '{"color":"red"}')
    user = await db.users.find_one({"walletAddress": alice.wallet})
    assert user is not None and user["coins"] == 5 and "red" in user["unlockedCosmetics"]
    assert user["customization"] == {"color": "red"}
    purchases = await db.transactions.find(
        {"walletAddress": alice.wallet, "type": "purchase"}
    ).to_list()
    assert [(p["amount"], p["balanceAfter"]) for p in purchases] == [(-20, 5)]
    await expect(alice.page.locator('#shop-items li[data-item="red"] .worn')).to_have_text("worn")

    await alice.page.fill("#chat-text", "New look!")
    await alice.page.press("#chat-text", "Enter")
    await expect(bob.page.locator("#chat-log")).to_contain_text("New look!")
    await screenshot(bob.page, "play.png")


async def test_the_page_base58_matches_the_servers(town: Town) -> None:
    samples = [b"", b"\x00", b"\x00\x00\x01", bytes(range(32)), b"\xff" * 64, b"hello pengu"]

    encoded = await town.alice.page.evaluate(
        """async (samples) => {
             const { encodeBase58 } = await import("/static/shared/base58.js");
             return samples.map((bytes) => encodeBase58(new Uint8Array(bytes)));
           }""",
        [list(sample) for sample in samples],
    )

    assert encoded == [base58.b58encode(sample).decode() for sample in samples]
