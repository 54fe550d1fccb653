"""The playground as a game client, in Chromium: two pages challenge each other (declined,
then accepted) and play tic-tac-toe to the end while a third watches; puffles (adopt, feed,
walk: the room sees it), a promo code, a report, the old save's migration prompt (applied,
held for review, declined), and the page at phone width."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.progression.stamps import load_stamps
from tests.browser.support import Player, Site, Tabs, enter_town, screenshot
from tests.support import http_token

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium
STAMPS = {stamp.id: stamp for stamp in load_stamps()}


@dataclass
class Town:
    alice: Player
    bob: Player
    carol: Player


@pytest.fixture(scope="module")
async def town(tabs: Tabs, site: Site) -> AsyncIterator[Town]:
    players = [await enter_town(tabs, site, name) for name in ("alice", "bob", "carol")]
    for player in players:
        for other in players:
            await expect(player.entry(other.player_id)).to_have_count(1)
    yield Town(*players)
    for player in players:
        await tabs.close(player.tab)


async def as_admin(site: Site, method: str, path: str, body: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(timeout=30) as http:
        token = await http_token(site.url, site.admin, http)
        response = await http.request(
            method, site.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    return response.json()


async def challenge(challenger: Player, target: Player, game: str) -> None:
    await challenger.entry(target.player_id).locator("button.challenge").click()
    await challenger.page.select_option('#challenge-form select[name="game"]', game)
    await challenger.page.click('#challenge-form button[type="submit"]')
    await expect(challenger.page.locator("#challenges-sent li")).to_have_count(1)


async def seat_of(player: Player) -> int:
    board = player.page.locator("#match")
    await expect(board).to_have_attribute("data-status", "active")
    seat = await board.get_attribute("data-seat")
    assert seat in ("0", "1")
    return int(seat)


async def test_a_declined_challenge_tells_the_challenger(town: Town) -> None:
    alice, bob = town.alice, town.bob

    await challenge(bob, alice, "connect_four")
    prompt = alice.page.locator('#prompts [data-prompt="challenge"]')
    await expect(prompt).to_contain_text("Connect four")
    await prompt.locator("button.decline").click()

    await expect(prompt).to_have_count(0)
    await expect(bob.page.locator("#challenges-sent li")).to_have_count(0)
    await expect(bob.page.locator("#status")).to_contain_text("declined")


async def test_a_cancelled_challenge_leaves_the_target(town: Town) -> None:
    alice, carol = town.alice, town.carol

    await challenge(alice, carol, "tictactoe")
    prompt = carol.page.locator('#prompts [data-prompt="challenge"]')
    await expect(prompt).to_have_count(1)
    await alice.page.click("#challenges-sent button.cancel")

    await expect(prompt).to_have_count(0)
    await expect(alice.page.locator("#challenges-sent li")).to_have_count(0)


async def test_two_pages_play_tictactoe_to_the_end_while_a_third_watches(
    town: Town, db: AsyncDatabase[dict[str, Any]]
) -> None:
    alice, bob, carol = town.alice, town.bob, town.carol

    await challenge(alice, bob, "tictactoe")
    prompt = bob.page.locator('#prompts [data-prompt="challenge"]')
    await expect(prompt).to_contain_text("Tic-tac-toe")
    await prompt.locator("button.accept").click()
    seats = {await seat_of(alice): alice, await seat_of(bob): bob}
    first, second = seats[0], seats[1]
    await expect(first.page.locator("#match .deadline")).to_contain_text("s left for this turn")
    await expect(carol.page.locator("#room-matches li")).to_contain_text("Tic-tac-toe")
    await carol.entry(alice.player_id).locator("button.watch").click()
    await expect(carol.page.locator("#match")).to_have_attribute("data-mode", "watch")
    await expect(carol.entry(alice.player_id)).to_contain_text("playing tictactoe")

    # The first seat takes the top row; the second answers in the middle row.
    for seq, (player, cell) in enumerate(
        [(first, 0), (second, 3), (first, 1), (second, 4), (first, 2)], start=1
    ):
        await expect(player.page.locator("#match .turn")).to_have_text("Your move")
        await player.page.click(f'#match button[data-cell="{cell}"]')
        if seq < 5:
            await expect(carol.page.locator("#match")).to_have_attribute("data-seq", str(seq))

    for player in (alice, bob, carol):
        await expect(player.page.locator("#match")).to_have_attribute("data-status", "completed")
    await expect(first.page.locator("#match .turn")).to_contain_text("You won")
    await expect(second.page.locator("#match .turn")).to_contain_text("You lost")
    winner = await first.page.locator("#me-name").text_content()
    assert winner is not None
    await expect(carol.page.locator("#match .turn")).to_contain_text(
        f"{winner.split(' (')[0]} won (three_in_a_row)"
    )
    await expect(carol.page.locator('#match button[data-cell="0"]')).to_have_text("X")
    ends = [f for f in await frames_of(first.page, "match_end")]
    assert ends and ends[-1]["result"] == "win"
    assert [f["result"] for f in await frames_of(second.page, "match_end")] == ["loss"]
    match = await db.matches.find_one({"wallets": first.wallet})
    assert match is not None and match["status"] == "completed"
    await expect(carol.entry(alice.player_id)).not_to_contain_text("playing")
    await screenshot(first.page, "play-match.png")
    for player in (alice, bob, carol):
        await player.page.click("#match button.close")
        await expect(player.page.locator("#match")).to_be_hidden()


async def accepted(challenger: Player, target: Player, game: str) -> tuple[Player, Player]:
    """`challenger` challenges, `target` accepts: the players of seat 0 and seat 1."""
    await challenge(challenger, target, game)
    await target.page.locator('#prompts [data-prompt="challenge"] button.accept').click()
    seats = {await seat_of(challenger): challenger, await seat_of(target): target}
    return seats[0], seats[1]


async def forfeited(loser: Player, winner: Player) -> None:
    await loser.page.click("#match button.forfeit")
    for player in (loser, winner):
        await expect(player.page.locator("#match")).to_have_attribute("data-status", "completed")
    await expect(loser.page.locator("#match .turn")).to_contain_text("You lost (forfeit")
    await expect(winner.page.locator("#match .turn")).to_contain_text("You won (forfeit")
    for player in (loser, winner):
        await player.page.click("#match button.close")


async def test_connect_four_drops_discs_on_both_boards(town: Town) -> None:
    first, second = await accepted(town.bob, town.alice, "connect_four")

    await first.page.click('#match button.drop[data-column="3"]')
    await expect(second.page.locator("#match .slot.disc-red")).to_have_count(1)
    await second.page.click('#match button.drop[data-column="3"]')
    for player in (first, second):
        await expect(player.page.locator("#match .slot.disc-yellow")).to_have_count(1)
    # Row 0 is the bottom: the first disc is in the last row drawn, the second above it.
    slots = first.page.locator("#match .slot")
    await expect(slots.nth(5 * 7 + 3)).to_have_class("slot disc-red")
    await expect(slots.nth(4 * 7 + 3)).to_have_class("slot disc-yellow")

    await forfeited(first, second)


async def test_card_jitsu_plays_a_round_from_each_hand(town: Town) -> None:
    first, second = await accepted(town.alice, town.bob, "card_jitsu")

    for player in (first, second):
        hand = player.page.locator("#match .hand button.jitsu-card")
        await expect(hand).to_have_count(5)
        await hand.first.click()
    for player in (first, second):
        await expect(player.page.locator("#match .last-round")).to_contain_text("Last round")
        await expect(player.page.locator("#match .hand button.jitsu-card")).to_have_count(5)

    await forfeited(second, first)


async def frames_of(page: Page, kind: str) -> list[dict[str, Any]]:
    """The frames of one type that the protocol pane lists, parsed."""
    texts = await page.locator(f'#frames li[data-type="{kind}"] code.line').all_text_contents()
    return [json.loads(text) for text in texts]


async def test_a_puffle_is_adopted_fed_and_walked_where_the_room_sees_it(
    town: Town, site: Site
) -> None:
    alice, bob = town.alice, town.bob
    short = alice.page.get_by_text(re.compile(r"A puffle costs 400 coins or more; you have \d+\."))
    await expect(short).to_be_visible()  # a new penguin's coins buy no puffle: it says so
    await as_admin(site, "POST", "/admin/coins", {"walletAddress": alice.wallet, "amount": 500,
                   "reason": "a puffle for the test", "idempotencyKey": "play-puffle"})  # fmt: skip
    coins = alice.page.locator("#coins")
    grant = alice.page.locator('#frames li[data-type="coins"]', has_text="admin_adjustment")
    await expect(grant).to_have_count(1)  # the grant reached the open page
    before = int(await coins.text_content() or 0)
    assert before >= 500
    await expect(short).to_have_count(0)

    await alice.page.select_option('#adopt-form select[name="color"]', "blue")
    await alice.page.fill('#adopt-form input[name="name"]', "Bubbles")
    await alice.page.click('#adopt-form button[type="submit"]')
    puffle = alice.page.locator("#puffle-list li.puffle")
    await expect(puffle).to_contain_text("Bubbles")
    # The first puffle is a stamp, and its reward comes as coins too.
    stamp = alice.page.locator('#frames li[data-type="stamp_earned"]', has_text="first_puffle")
    await expect(stamp).to_have_count(1)
    await expect(coins).to_have_text(str(before - 400 + STAMPS["first_puffle"].reward))
    await expect(puffle.locator("button.feed")).to_be_disabled()  # no food yet

    await alice.page.click('#shop-items li[data-item="puffle_o"] button.buy')
    await expect(puffle.locator("button.feed")).to_be_enabled()
    await puffle.locator("button.feed").click()
    await expect(puffle.locator("button.feed")).to_be_disabled()  # the one food is eaten
    await puffle.locator("button.walk").click()

    await expect(puffle).to_have_attribute("data-walking", "true")
    await expect(bob.entry(alice.player_id).locator(".badges")).to_contain_text("Bubbles")
    await puffle.locator("button.walk").click()
    await expect(bob.entry(alice.player_id).locator(".badges")).not_to_contain_text("Bubbles")


async def test_a_promo_code_adds_its_coins(town: Town, site: Site) -> None:
    alice = town.alice
    await as_admin(site, "POST", "/admin/promos", {"code": "PLAYPAGE", "coins": 15, "items": [],
                   "maxRedemptions": 5, "expiresAt": None, "active": True})  # fmt: skip
    before = int(await alice.page.locator("#coins").text_content() or 0)

    await alice.page.fill('#promo-form input[name="code"]', "playpage")
    await alice.page.click('#promo-form button[type="submit"]')
    await expect(alice.page.locator("#promo-result")).to_have_text("PLAYPAGE: +15 coins")
    await expect(alice.page.locator("#coins")).to_have_text(str(before + 15))

    await alice.page.fill('#promo-form input[name="code"]', "playpage")
    await alice.page.click('#promo-form button[type="submit"]')
    await expect(alice.page.locator("#promo-result")).to_have_class("note error")


async def test_a_player_is_reported_from_the_roster(
    town: Town, db: AsyncDatabase[dict[str, Any]]
) -> None:
    alice, bob = town.alice, town.bob

    await bob.entry(alice.player_id).locator("button.report").click()
    await bob.page.select_option('#report-form select[name="category"]', "name")
    await bob.page.fill('#report-form input[name="text"]', "a rude name")
    await bob.page.click('#report-form button[type="submit"]')

    await expect(bob.page.locator("#report-result")).to_contain_text("Thank you")
    report = await db.player_reports.find_one({"text": "a rude name"})
    assert report is not None and report["category"] == "name"


async def test_the_stats_panel_shows_the_counters(town: Town) -> None:
    page = town.bob.page

    await page.click("#load-stats")

    await expect(page.locator('#stats-list [data-stat="world.roomsVisited"] dd')).to_have_text(
        re.compile(r"^[1-9]\d*$")
    )


OLD_SAVE = {
    "penguin_name": "Waddles",
    "clubpenguin_save": json.dumps({"coins": 300, "stamps": []}),
    "penguin_customization": json.dumps({"color": "red"}),
    "unlocked_cosmetics": json.dumps(["red"]),
}


async def new_player_with_save(tabs: Tabs, site: Site, name: str, save: dict[str, str]) -> Any:
    tab = await tabs.new(name, site.url + "/play")
    await tab.page.evaluate(
        "(save) => { for (const [k, v] of Object.entries(save)) localStorage.setItem(k, v); }", save
    )
    await tab.page.click("#sign-in-dev")
    await expect(tab.page.locator("body")).to_have_class("in-game")
    return tab


async def stored(page: Page) -> list[str]:
    return await page.evaluate("() => Object.keys(localStorage)")


async def test_a_new_player_brings_the_old_save_and_it_is_cleared(
    tabs: Tabs, site: Site, db: AsyncDatabase[dict[str, Any]]
) -> None:
    tab = await new_player_with_save(tabs, site, "saver", OLD_SAVE)
    page = tab.page
    prompt = page.locator('#prompts [data-prompt="migration"]')
    await expect(prompt).to_contain_text("the name Waddles, 300 coins, 1 items")

    await prompt.locator("button.bring").click()
    await expect(prompt.locator(".migration-status")).to_have_attribute("data-status", "applied")
    await expect(page.locator("#me-name")).to_contain_text("Waddles")
    assert await stored(page) == []
    wallet = await page.locator("#me-name").get_attribute("data-wallet")
    user = await db.users.find_one({"walletAddress": wallet})
    assert user is not None and "red" in user["unlockedCosmetics"]
    assert user["customization"]["color"] == "red"
    await tabs.close(tab)


async def test_a_large_save_is_held_for_review_and_still_cleared(
    tabs: Tabs, site: Site, db: AsyncDatabase[dict[str, Any]]
) -> None:
    save = OLD_SAVE | {"clubpenguin_save": json.dumps({"coins": 40_000})}
    tab = await new_player_with_save(tabs, site, "hoarder", save)
    prompt = tab.page.locator('#prompts [data-prompt="migration"]')

    await prompt.locator("button.bring").click()
    status = prompt.locator(".migration-status")
    await expect(status).to_have_attribute("data-status", "pending_review")
    await expect(status).to_contain_text("coins: 40000 (more than 1000)")
    assert await stored(tab.page) == []
    wallet = await tab.page.locator("#me-name").get_attribute("data-wallet")
    claim = await db.migration_claims.find_one({"walletAddress": wallet})
    assert claim is not None and claim["status"] == "pending"

    await as_admin(site, "POST", f"/admin/migrations/{claim['_id']}/approve",
                   {"reason": "matches our export"})  # fmt: skip
    told = tab.page.locator('#prompts [data-prompt="migration-reviewed"]')
    await expect(told).to_contain_text("approved")
    await expect(tab.page.locator("#coins")).to_have_text(str(40_000 + 25))  # and the bonus
    await tabs.close(tab)


async def test_starting_fresh_clears_the_save_and_migrates_nothing(
    tabs: Tabs, site: Site, db: AsyncDatabase[dict[str, Any]]
) -> None:
    tab = await new_player_with_save(tabs, site, "fresh", OLD_SAVE)

    await tab.page.click('#prompts [data-prompt="migration"] button.discard')
    await expect(tab.page.locator("#prompts .prompt")).to_have_count(0)
    assert await stored(tab.page) == []
    wallet = await tab.page.locator("#me-name").get_attribute("data-wallet")
    assert await db.migration_claims.find_one({"walletAddress": wallet}) is None
    await tabs.close(tab)


async def test_a_returning_player_is_not_asked(tabs: Tabs, site: Site) -> None:
    tab = await tabs.new("plain", site.url + "/play")
    await tab.page.click("#sign-in-dev")
    await expect(tab.page.locator("body")).to_have_class("in-game")

    await expect(tab.page.locator("#prompts .prompt")).to_have_count(0)
    await tabs.close(tab)


async def test_at_phone_width_sign_out_shows_and_the_panels_stack(tabs: Tabs, site: Site) -> None:
    tab = await tabs.new("phone", site.url + "/play")
    page = tab.page
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.click("#sign-in-dev")
    await expect(page.locator("body")).to_have_class("in-game")

    sign_out = await page.locator("#sign-out").bounding_box()
    room = await page.locator("#room").bounding_box()
    side = await page.locator("#side").bounding_box()
    assert sign_out is not None and room is not None and side is not None
    assert sign_out["x"] >= 0 and sign_out["x"] + sign_out["width"] <= 390
    assert side["y"] >= room["y"] + room["height"]  # below the room, not beside it
    assert side["width"] <= 390 and room["width"] <= 390
    protocol = await page.locator("#protocol").bounding_box()
    assert protocol is not None and protocol["y"] >= side["y"] + side["height"]
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    await screenshot(page, "play-phone.png")
    await page.click("#sign-out")
    await expect(page.locator("body")).not_to_have_class("in-game")
    await tabs.close(tab)
