"""Stamps and leaderboards in Chromium: the stamp book lists the whole catalogue, a stamp
not earned yet as such; a player beats the computer on easy and sees the stamps it earned
as toasts (name and coins) and marked in the book, with when (after signing in again, the
server's times); the playground's leaderboard shows a seeded ranking with the player's own
rank highlighted, in the top and beyond it; the console's Leaderboards panel shows the same
board, and a player's page their stamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from playwright.async_api import Page, expect
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.models import Match, MatchLogEntry, MatchPlayer, MatchStatus
from clubpengu.models.base import iso
from clubpengu.progression.stamps import load_stamps
from clubpengu.services.economy import EconomyService
from clubpengu.services.leaderboards import LeaderboardService
from tests.browser.conftest import BROWSER_DB
from tests.browser.support import Player, Site, Tab, Tabs, enter_town, open_console, screenshot
from tests.browser.test_play_computer import MARKS, TURN_OR_END, best_cell, read_board

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium

Mongo = AsyncMongoClient[dict[str, Any]]
STAMPS = {stamp.id: stamp for stamp in load_stamps()}
# Matches on easy until one is won: a perfect player never loses, and from the second seat
# about half the games are draws (53 % of 2,000 simulated), so 24 all drawn has odds of
# about 1 in 5 million.
TRIES = 24
# The page's own wording of a time, in the browser's locale and zone.
EARNED_TEXT = """async (at) => (await import("/static/play/stamps.js")).earnedText(new Date(at))"""


async def play_one(page: Page) -> str:
    """A tic-tac-toe match against the computer on easy, played perfectly: its result."""
    match = page.locator("#match")
    seat = int(await match.get_attribute("data-seat") or "")
    me = MARKS[seat]
    while True:
        await expect(match.locator(".turn")).to_have_text(TURN_OR_END)
        if await match.get_attribute("data-status") != "active":
            break
        cell = best_cell(await read_board(match), me)
        await match.locator(f'button[data-cell="{cell}"]').click()
        await expect(match.locator(f'button[data-cell="{cell}"]')).to_have_text(me)
    text = await match.locator(".turn").text_content() or ""
    return "win" if text.startswith("You won") else "draw"


async def test_a_player_wins_against_the_computer_and_sees_the_stamps_in_the_book(
    tabs: Tabs, site: Site, db: AsyncDatabase[dict[str, Any]]
) -> None:
    player: Player = await enter_town(tabs, site, "collector")
    page = player.page
    book = page.locator("#stamp-book")
    # The book shows the whole catalogue: the sign-in stamp the new wallet's profile
    # carries as earned, with the time the server kept, the others not yet.
    await expect(book.locator("li.stamp")).to_have_count(len(STAMPS))
    welcome = book.locator('section[data-category="activities"] li[data-stamp="first_login"]')
    await expect(welcome).to_have_attribute("data-earned", "true")
    await expect(welcome.locator(".stamp-name")).to_have_text(STAMPS["first_login"].name)
    user = await db.users.find_one({"walletAddress": player.wallet})
    assert user is not None
    signed_up = iso(user["stampsEarnedAt"]["first_login"])
    await expect(welcome.locator("time.when")).to_have_attribute("datetime", signed_up)
    await expect(welcome.locator("time.when")).to_have_text(
        await page.evaluate(EARNED_TEXT, signed_up)
    )
    await expect(page.locator("#stamp-count")).to_have_text("1 stamp earned")
    to_earn = book.locator('section[data-category="games"] li[data-stamp="first_win"]')
    await expect(to_earn).to_have_attribute("data-earned", "false")
    await expect(to_earn).to_have_class("stamp to-earn")
    await expect(to_earn.locator(".when")).to_have_text("not yet")
    await expect(to_earn.locator(".stamp-name")).to_have_text(STAMPS["first_win"].name)

    await page.select_option('#computer-form select[name="game"]', "tictactoe")
    await page.select_option('#computer-form select[name="level"]', "easy")
    await page.click('#computer-form button[type="submit"]')
    results = []
    for _ in range(TRIES):
        await expect(page.locator("#match")).to_have_attribute("data-status", "active")
        results.append(await play_one(page))
        if results[-1] == "win":
            break
        await page.click("#match button.again")
    assert results[-1] == "win", results

    # The first match played out earns Game On (no coins), the first win First Victory.
    first_match, first_win = STAMPS["first_match"], STAMPS["first_win"]
    assert first_win.reward > 0 and first_match.reward == 0
    toast = page.locator('#toasts .toast[data-stamp="first_win"]')
    await expect(toast).to_have_text(f"Stamp earned: {first_win.name} (+{first_win.reward} coins)")
    await expect(
        page.locator('#frames li[data-type="coins"]', has_text="stamp_reward")
    ).to_have_count(1)
    games = book.locator('section[data-category="games"]')
    for stamp in (first_match, first_win):
        entry = games.locator(f'li[data-stamp="{stamp.id}"]')
        await expect(entry).to_have_attribute("data-earned", "true")
        await expect(entry.locator(".stamp-name")).to_have_text(stamp.name)
        await expect(entry.locator(".description")).to_have_text(stamp.description)
        await expect(entry.locator(".when")).to_contain_text("earned ")
        await expect(entry).to_have_attribute("data-difficulty", stamp.difficulty.value)
    await expect(games.locator('li[data-stamp="first_win"] .stamp-reward')).to_contain_text(
        f"+{first_win.reward} coins"
    )
    await expect(page.locator("#stamp-count")).to_have_text("3 stamps earned")
    await page.locator("#stamps").scroll_into_view_if_needed()
    await screenshot(page, "play-stamps.png")

    user = await db.users.find_one({"walletAddress": player.wallet})
    assert user is not None and user["stamps"] == ["first_login", "first_match", "first_win"]
    rewards = await db.transactions.count_documents(
        {"walletAddress": player.wallet, "type": "stamp_reward"}
    )
    assert rewards == 1

    # A toast goes when clicked; the book keeps the stamps.
    await toast.click()
    await expect(toast).to_have_count(0)
    await expect(games.locator('li[data-earned="true"]')).to_have_count(2)

    # Signed in again, the book shows when each was earned, as the profile says.
    user = await db.users.find_one({"walletAddress": player.wallet})
    assert user is not None and set(user["stampsEarnedAt"]) == set(user["stamps"])
    await page.click("#sign-out")
    await expect(page.locator("body")).not_to_have_class("in-game")
    await page.click("#sign-in-dev")
    await expect(page.locator("body")).to_have_class("in-game")
    await expect(page.locator("#stamp-count")).to_have_text("3 stamps earned")
    for stamp in ("first_login", "first_match", "first_win"):
        when = book.locator(f'li[data-stamp="{stamp}"] time.when')
        at = iso(user["stampsEarnedAt"][stamp])
        await expect(when).to_have_attribute("datetime", at)
        await expect(when).to_have_text(await page.evaluate(EARNED_TEXT, at))
    await expect(book.locator('li[data-earned="false"]')).to_have_count(len(STAMPS) - 3)
    await tabs.close(player.tab)


def _match(game: str, winner: tuple[str, str], loser: tuple[str, str]) -> Match:
    """A rated match, played out and stored as the settlement leaves it."""
    now = datetime.now(UTC)
    wallets = [winner[0], loser[0]]
    log = [
        MatchLogEntry(seq=n, seat=n % 2, wallet_address=wallets[n % 2], move={}, at=now)
        for n in range(1, 6)
    ]
    return Match(
        id=ObjectId(), game=game, wallets=wallets, status=MatchStatus.COMPLETED,
        players=[MatchPlayer(wallet_address=w, username=name) for w, name in (winner, loser)],
        winner_wallet=winner[0], result="three_in_a_row", log=log, ended_at=now, settled_at=now,
    )  # fmt: skip


async def seed(mongo_client: Mongo, game: str, wins: dict[tuple[str, str], int]) -> None:
    """Each (wallet, name) wins its number of rated matches against a loser of its own."""
    boards = LeaderboardService(
        mongo_client, BROWSER_DB, EconomyService(mongo_client, BROWSER_DB), min_moves=2
    )
    matches = mongo_client[BROWSER_DB]["matches"]
    for (wallet, name), count in wins.items():
        for n in range(count):
            match = _match(game, (wallet, name), (f"{wallet}-loser{n}", f"Loser {name} {n}"))
            await matches.insert_one(match.model_dump(by_alias=True))
            assert await boards.record(match)


async def expected_ranks(db: AsyncDatabase[dict[str, Any]], game: str) -> dict[str, int]:
    """Every entry's rank on the all-time board, counted by brute force: 1 + the players
    with more wins, or as many and a higher rating (as shown, a whole number)."""
    entries = await db.leaderboard.find({"game": game, "period": "all"}).to_list()
    keys = {e["walletAddress"]: (e["wins"], round(e["rating"])) for e in entries}
    return {w: 1 + sum(other > key for other in keys.values()) for w, key in keys.items()}


async def test_the_leaderboard_shows_a_seeded_ranking_and_the_players_own_rank(
    tabs: Tabs, site: Site, mongo_client: Mongo, db: AsyncDatabase[dict[str, Any]]
) -> None:
    player: Player = await enter_town(tabs, site, "ranked")
    page = player.page
    user = await db.users.find_one({"walletAddress": player.wallet})
    assert user is not None
    me = (player.wallet, user["username"])
    seeded = {("seed-ace", "Ace"): 5, ("seed-bea", "Bea"): 4, me: 3, ("seed-cy", "Cy"): 2}
    await seed(mongo_client, "card_jitsu", seeded)
    ranks = await expected_ranks(db, "card_jitsu")

    # The game first: its week, then all time (each change reads the board).
    await page.select_option('#leaderboard-form select[name="game"]', "card_jitsu")
    await page.select_option('#leaderboard-form select[name="period"]', "all")
    board = page.locator("#leaderboard")
    await expect(board).to_have_attribute("data-period", "all")
    await expect(board).to_have_attribute("data-game", "card_jitsu")
    rows = board.locator("tbody tr")
    await expect(rows).to_have_count(len(ranks))
    for (wallet, name), wins in seeded.items():
        row = board.locator(f'tr[data-wallet="{wallet}"]')
        await expect(row.locator("td").nth(0)).to_have_text(str(ranks[wallet]))
        await expect(row.locator("td").nth(1)).to_have_text(name)
        await expect(row.locator("td").nth(2)).to_have_text(str(wins))
    assert [await rows.nth(n).get_attribute("data-wallet") for n in range(4)] == [
        "seed-ace", "seed-bea", player.wallet, "seed-cy",
    ]  # fmt: skip
    mine = board.locator("tr.me")
    await expect(mine).to_have_count(1)
    await expect(mine).to_have_attribute("data-wallet", player.wallet)
    await expect(page.locator("#leaderboard-status")).to_have_attribute(
        "data-rank", str(ranks[player.wallet])
    )
    await expect(page.locator("#leaderboard-status")).to_contain_text(
        f"you are #{ranks[player.wallet]} (3 wins)"
    )
    await page.locator("#leaderboards").scroll_into_view_if_needed()
    await screenshot(page, "play-leaderboard.png")

    # This week's board holds the same matches (they ended now); another game has none.
    await page.select_option('#leaderboard-form select[name="period"]', "week")
    await expect(board).to_have_attribute("data-period", "week")
    await expect(board.locator("tr.me td").nth(0)).to_have_text(str(ranks[player.wallet]))
    await page.select_option('#leaderboard-form select[name="game"]', "connect_four")
    await expect(board).to_have_attribute("data-game", "connect_four")
    await expect(page.locator("#leaderboard-status")).to_contain_text(
        "no rated match in this period"
    )
    await tabs.close(player.tab)


async def test_a_rank_beyond_the_top_100_shows_under_it(
    tabs: Tabs, site: Site, mongo_client: Mongo, db: AsyncDatabase[dict[str, Any]]
) -> None:
    player: Player = await enter_town(tabs, site, "far down")
    page = player.page
    user = await db.users.find_one({"walletAddress": player.wallet})
    assert user is not None
    ahead = {(f"seed-c4-{n:03d}", f"Four {n}"): 2 for n in range(100)}
    await seed(mongo_client, "connect_four", {**ahead, (player.wallet, user["username"]): 1})
    ranks = await expected_ranks(db, "connect_four")

    # The game first: its week, then all time (each change reads the board).
    await page.select_option('#leaderboard-form select[name="game"]', "connect_four")
    await page.select_option('#leaderboard-form select[name="period"]', "all")
    board = page.locator("#leaderboard")
    await expect(board).to_have_attribute("data-period", "all")
    await expect(board).to_have_attribute("data-game", "connect_four")
    # The top 100, a gap, then the player's own row.
    await expect(board.locator("tbody tr[data-rank]")).to_have_count(101)
    await expect(board.locator("tbody tr.gap")).to_have_count(1)
    last = board.locator("tbody tr").last
    await expect(last).to_have_class("me")
    await expect(last.locator("td").nth(0)).to_have_text(str(ranks[player.wallet]))
    assert ranks[player.wallet] > 100
    await tabs.close(player.tab)


async def test_the_console_shows_the_leaderboard_and_a_players_stamps(
    tabs: Tabs, site: Site, mongo_client: Mongo, db: AsyncDatabase[dict[str, Any]]
) -> None:
    player: Player = await enter_town(tabs, site, "staffed")
    user = await db.users.find_one({"walletAddress": player.wallet})
    assert user is not None
    await seed(
        mongo_client,
        "tictactoe",
        {("seed-tt-top", "Topper"): 40, (player.wallet, user["username"]): 30},
    )
    ranks = await expected_ranks(db, "tictactoe")
    staff: Tab = await open_console(tabs, site, "moderator", site.moderator)
    page = staff.page

    await page.click('#nav button[data-view="leaderboards"]')
    await expect(page.locator("#view-leaderboards")).to_be_visible()
    await page.select_option("#leaderboard-period", "all")
    await page.fill("#leaderboard-wallet", player.wallet)
    await page.click("#leaderboard-refresh")
    table = page.locator("#leaderboard-table")
    top = table.locator('tbody tr[data-wallet="seed-tt-top"]')
    await expect(top.locator('td[data-key="rank"]')).to_have_text("1")
    await expect(top.locator('td[data-key="username"]')).to_have_text("Topper")
    await expect(top.locator('td[data-key="wins"]')).to_have_text("40")
    mine = table.locator('tbody tr[data-me="true"]')
    await expect(mine).to_have_attribute("data-wallet", player.wallet)
    await expect(mine.locator('td[data-key="rank"]')).to_have_text(str(ranks[player.wallet]))
    await expect(page.locator("#leaderboard-status")).to_contain_text(
        f"that wallet is #{ranks[player.wallet]}"
    )
    await screenshot(page, "console-leaderboards.png")

    # A name links to the player's page, whose Stamps card lists what they hold.
    await mine.locator("a.player-link").click()
    await expect(page.locator("#lookup-stamps")).to_be_visible()
    await expect(page.locator('#lookup-stamps li[data-stamp="first_login"]')).to_have_text(
        "first_login"
    )

    await page.click('#nav button[data-view="leaderboards"]')
    await page.select_option("#leaderboard-game", "card_jitsu")
    await page.fill("#leaderboard-wallet", "")
    await page.click("#leaderboard-refresh")
    await expect(page.locator("#leaderboard-status")).not_to_contain_text("that wallet")
    await tabs.close(staff)
    await tabs.close(player.tab)
