"""Buddies in the playground, in Chromium: a request from the roster accepted from the
prompt, both lists online; a buddy's room change seen live and "Go there" following them to
their instance; a request by wallet accepted in the panel, then its sender signing out; a
request sent listed and withdrawn;
ignoring from the roster (the server stops the chat); the console's buddies card; the panel
at phone width."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.support import Player, Site, Tabs, enter_town, open_console, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium


@dataclass
class Town:
    alice: Player
    bob: Player


@pytest.fixture(scope="module")
async def town(tabs: Tabs, site: Site) -> AsyncIterator[Town]:
    alice = await enter_town(tabs, site, "alice")
    bob = await enter_town(tabs, site, "bob")
    for player in (alice, bob):
        for other in (alice, bob):
            await expect(player.entry(other.player_id)).to_have_count(1)
    yield Town(alice, bob)
    for player in (alice, bob):
        if player.tab in tabs.open:
            await tabs.close(player.tab)


def buddy(player: Player, wallet: str) -> Any:
    """`player`'s row of a buddy in the buddy panel."""
    return player.page.locator(f'#buddy-list li[data-wallet="{wallet}"]')


async def chat(player: Player, text: str) -> None:
    await player.page.fill("#chat-text", text)
    await player.page.click("#chat-form button[type=submit]")
    await expect(player.page.locator("#chat-text")).to_have_value("")  # the server took it


async def picture(player: Player, name: str) -> None:
    """A screenshot with the shop folded, so that the roster and the buddies fit beside the room."""
    shop = player.page.locator("#side details", has=player.page.locator("#shop"))
    await shop.evaluate("(details) => { details.open = false; }")
    await player.page.locator("#buddies").scroll_into_view_if_needed()
    await screenshot(player.page, name)
    await shop.evaluate("(details) => { details.open = true; }")


async def test_a_request_from_the_roster_is_accepted_from_the_prompt(town: Town) -> None:
    alice, bob = town.alice, town.bob
    await expect(alice.page.locator("#buddy-list")).to_contain_text("No buddies yet")

    await alice.entry(bob.player_id).locator("button.add-buddy").click()
    await expect(alice.page.locator("#buddy-result")).to_contain_text("waiting for their answer")
    prompt = bob.page.locator('#prompts [data-prompt="buddy"]')
    await expect(prompt).to_contain_text("asks to be your buddy")
    await expect(
        bob.page.locator(f'#buddy-requests li[data-wallet="{alice.wallet}"]')
    ).to_have_count(1)
    await prompt.locator("button.accept").click()

    await expect(prompt).to_have_count(0)
    await expect(bob.page.locator("#buddy-requests li")).to_have_count(0)
    for player, other in ((alice, bob), (bob, alice)):
        row = buddy(player, other.wallet)
        await expect(row).to_have_attribute("data-online", "true")
        await expect(row).to_have_attribute("data-room", "town")
        await expect(row.locator(".dot")).to_have_class("dot online")
        await expect(row.locator("button.go")).to_be_disabled()  # already in the same room
        await expect(player.entry(other.player_id)).to_have_attribute("data-buddy", "true")
        await expect(player.entry(other.player_id).locator("button.add-buddy")).to_be_hidden()


async def test_a_buddy_changing_rooms_is_seen_and_followed(town: Town) -> None:
    alice, bob = town.alice, town.bob

    await bob.page.click('#room-list li[data-room="plaza"] button.room')
    await expect(bob.page.locator("#room-name")).to_have_text("plaza")
    row = buddy(alice, bob.wallet)
    await expect(row).to_have_attribute("data-room", "plaza")  # buddy_moved, no asking
    await expect(row.locator(".room")).to_have_text("plaza")
    await picture(alice, "play-buddies.png")
    await row.locator("button.go").click()

    await expect(alice.page.locator("#room-name")).to_have_text("plaza")
    await expect(alice.entry(bob.player_id)).to_have_count(1)
    await expect(row.locator(".room")).to_have_text("plaza (here)")
    await expect(buddy(bob, alice.wallet)).to_have_attribute("data-room", "plaza")


async def test_an_ignored_players_chat_stops_reaching_the_ignorer(town: Town) -> None:
    alice, bob = town.alice, town.bob
    alice_log, bob_log = alice.page.locator("#chat-log"), bob.page.locator("#chat-log")
    await chat(bob, "before the ignore")
    await expect(alice_log).to_contain_text("before the ignore")

    ignore = alice.entry(bob.player_id).locator("button.ignore")
    await ignore.click()
    await expect(ignore).to_have_text("Unignore")
    await expect(alice.page.locator(f'#ignore-list li[data-wallet="{bob.wallet}"]')).to_have_count(
        1
    )
    await expect(buddy(alice, bob.wallet)).to_have_count(0)  # ignoring ends the friendship
    await expect(buddy(bob, alice.wallet)).to_have_count(0)  # and bob is told so
    await chat(bob, "after the ignore")
    await expect(bob_log).to_contain_text("after the ignore")  # bob still sees his own line
    await chat(alice, "a marker after it")

    await expect(alice_log).to_contain_text("a marker after it")
    await expect(alice_log).not_to_contain_text("after the ignore")

    await alice.page.click(f'#ignore-list li[data-wallet="{bob.wallet}"] button.unignore')
    await expect(ignore).to_have_text("Ignore")
    await chat(bob, "heard again")
    await expect(alice_log).to_contain_text("heard again")


async def test_a_request_by_wallet_is_accepted_in_the_panel_and_sign_out_shows_offline(
    town: Town, tabs: Tabs, site: Site
) -> None:
    alice = town.alice
    carol = await enter_town(tabs, site, "carol")

    await alice.page.fill('#buddy-form input[name="wallet"]', carol.wallet)
    await alice.page.click('#buddy-form button[type="submit"]')
    await expect(alice.page.locator('#buddy-form input[name="wallet"]')).to_have_value("")
    await carol.page.click(f'#buddy-requests li[data-wallet="{alice.wallet}"] button.accept')
    await expect(carol.page.locator('#prompts [data-prompt="buddy"]')).to_have_count(0)
    row = buddy(alice, carol.wallet)
    await expect(row).to_have_attribute("data-online", "true")
    await expect(row).to_have_attribute("data-room", "town")  # carol joined in town

    await carol.page.click("#sign-out")
    await expect(row).to_have_attribute("data-online", "false")
    await expect(row.locator(".room")).to_have_text("offline")
    await expect(row.locator(".dot")).to_have_class("dot offline")
    await expect(row.locator("button.go")).to_be_disabled()
    await tabs.close(carol.tab)


async def test_a_request_sent_is_listed_and_withdrawn_from_both_pages(
    town: Town, tabs: Tabs, site: Site
) -> None:
    alice = town.alice
    dave = await enter_town(tabs, site, "dave")

    await alice.page.fill('#buddy-form input[name="wallet"]', dave.wallet)
    await alice.page.click('#buddy-form button[type="submit"]')
    sent = alice.page.locator(f'#buddy-sent li[data-wallet="{dave.wallet}"]')
    me = await dave.page.locator("#me-name").text_content() or ""  # "name (wallet…)"
    daves_name = me.rsplit(" (", 1)[0]
    await expect(sent.locator(".name")).to_have_text(daves_name)  # the name, not the wallet
    asking = dave.page.locator(f'#buddy-requests li[data-wallet="{alice.wallet}"]')
    await expect(asking).to_have_count(1)
    await expect(dave.page.locator('#prompts [data-prompt="buddy"]')).to_have_count(1)

    await sent.locator("button.withdraw").click()
    await expect(alice.page.locator("#buddy-sent li")).to_have_count(0)
    await expect(alice.page.locator("#buddy-result")).to_contain_text("withdrawn")
    await expect(asking).to_have_count(0)  # buddy_request_withdrawn, no asking
    await expect(dave.page.locator('#prompts [data-prompt="buddy"]')).to_have_count(0)
    await tabs.close(dave.tab)


async def test_the_console_card_shows_a_players_buddies(town: Town, tabs: Tabs, site: Site) -> None:
    alice, bob = town.alice, town.bob
    await alice.entry(bob.player_id).locator("button.ignore").click()
    await expect(alice.page.locator(f'#ignore-list li[data-wallet="{bob.wallet}"]')).to_have_count(
        1
    )
    admin = await open_console(tabs, site, "admin", site.admin)
    page = admin.page

    await page.click('#nav button[data-view="players"]')
    await page.fill("#lookup-wallet", alice.wallet)
    await page.press("#lookup-wallet", "Enter")

    card = page.locator("#card-buddies")
    carol = card.locator("#buddies-table tbody tr")
    await expect(carol).to_have_count(1)  # carol, from the test before
    await expect(carol).to_have_attribute("data-online", "false")
    await expect(card.locator(f'#buddy-ignored tr[data-wallet="{bob.wallet}"]')).to_have_count(1)
    await expect(card.locator("#buddy-ignored-by")).to_contain_text("0 player(s)")
    await page.fill("#lookup-wallet", bob.wallet)
    await page.press("#lookup-wallet", "Enter")
    await expect(card.locator("#buddies-table")).to_have_text("No buddies")
    await expect(card.locator("#buddy-ignored-by")).to_contain_text("1 player(s)")
    await tabs.close(admin)


async def test_at_phone_width_the_buddy_panel_fits(town: Town) -> None:
    alice, bob = town.alice, town.bob
    page = alice.page
    await page.set_viewport_size({"width": 390, "height": 844})

    panel = await page.locator("#buddies").bounding_box()
    entry = await alice.entry(bob.player_id).bounding_box()
    assert panel is not None and entry is not None
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390
    assert entry["x"] + entry["width"] <= 390  # the roster's buttons wrap
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    await page.set_viewport_size({"width": 1280, "height": 860})
