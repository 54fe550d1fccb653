"""The room switcher in Chromium: rooms of one seat each (ROOM_CAPACITY=1), so a second
player opens a second instance; players move by room (any free seat) and by instance, and
"Go there" to a buddy in a full instance says so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import expect
from pymongo import MongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.browser.support import Player, Site, Tabs, enter_town, serve_site
from tests.support import Wallet, stop_serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium

ROOMS_DB = "clubpengu_browser_rooms"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, mongo_uri: str) -> Iterator[Site]:
    admin, analyst = Wallet(), Wallet()
    serve = serve_site(
        tmp_path_factory.mktemp("rooms"), mongo_uri, ROOMS_DB, admin, analyst,
        ROOM_CAPACITY="1", INSTANCE_CLOSE_GRACE="60s",
    )  # fmt: skip
    try:
        yield Site(serve, admin, analyst)
    finally:
        stop_serve(serve)
        with MongoClient(mongo_uri) as client:
            client.drop_database(ROOMS_DB)


def instance_button(player: Player, room: str, instance: str) -> Any:
    return player.page.locator(
        f'#room-list li[data-room="{room}"] button[data-instance="{instance}"]'
    )


def room_button(player: Player, room: str) -> Any:
    return player.page.locator(f'#room-list li[data-room="{room}"] button.room')


async def test_players_switch_rooms_and_instances(
    tabs: Tabs, tiny: Site, mongo_client: Any
) -> None:
    db: AsyncDatabase[dict[str, Any]] = mongo_client[ROOMS_DB]
    alice = await enter_town(tabs, tiny, "alice")
    bob = await enter_town(tabs, tiny, "bob")  # town is full: bob opens town~2
    await expect(alice.page.locator("#room-name")).to_have_text("town")
    await expect(bob.page.locator("#room-name")).to_have_text("town~2")
    await expect(instance_button(alice, "town", "town~2")).to_have_text("town~2 1/1")
    await expect(instance_button(alice, "town", "town~2")).to_be_disabled()  # no free seat

    await room_button(bob, "plaza").click()
    await expect(bob.page.locator("#room-name")).to_have_text("plaza")
    await expect(instance_button(alice, "town", "town~2")).to_have_text("town~2 0/1")
    await instance_button(alice, "town", "town~2").click()  # exactly that instance
    await expect(alice.page.locator("#room-name")).to_have_text("town~2")
    await room_button(bob, "town").click()  # the room: wherever a seat is free

    await expect(bob.page.locator("#room-name")).to_have_text("town")
    await expect(instance_button(bob, "town", "town")).to_have_attribute("aria-current", "true")
    await expect(alice.page.locator("#players li")).to_have_count(1)  # different instances
    await expect(bob.page.locator('#room-list li[data-room="town"] .population')).to_have_text(
        "2 here"
    )
    users = {u["walletAddress"]: u async for u in db.users.find({})}
    assert users[alice.wallet]["lastInstance"] == "town~2"
    assert users[bob.wallet]["lastInstance"] == "town"
    for player in (alice, bob):
        await tabs.close(player.tab)


async def test_go_there_says_when_the_buddys_instance_is_full(tabs: Tabs, tiny: Site) -> None:
    alice = await enter_town(tabs, tiny, "alice")
    bob = await enter_town(tabs, tiny, "bob")  # one seat a room: another instance than alice's
    here = await alice.page.locator("#room-name").text_content()
    bobs = await bob.page.locator("#room-name").text_content()
    assert here and bobs and here != bobs
    await alice.page.fill('#buddy-form input[name="wallet"]', bob.wallet)
    await alice.page.click('#buddy-form button[type="submit"]')
    await bob.page.click('#prompts [data-prompt="buddy"] button.accept')
    row = alice.page.locator(f'#buddy-list li[data-wallet="{bob.wallet}"]')
    await expect(row).to_have_attribute("data-room", bobs)

    await row.locator("button.go").click()

    result = alice.page.locator("#buddy-result")
    await expect(result).to_contain_text(f"'s room ({bobs}) is full: no seat for you there now")
    await expect(result).to_have_class("note error")
    await expect(alice.page.locator("#room-name")).to_have_text(here)  # alice stays put
    for player in (alice, bob):
        await tabs.close(player.tab)
