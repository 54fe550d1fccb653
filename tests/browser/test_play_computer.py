"""The playground against the computer, in Chromium: one player plays tic-tac-toe on easy to
the end (the computer's moves on the board, the coins the match earned at its end and in the
history), and gives up a match against the computer for no reward, then plays again; every
reason the server gives for a reward cut or withheld reads as words."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect
from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.services.collusion import GIVEN_UP
from clubpengu.services.matches import rewards
from tests.browser.support import Player, Site, Tabs, enter_town, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium

MARKS = ("X", "O")
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
TURN_OR_END = re.compile(r"^(Your move|You won|You lost|A draw)")


def winner(board: list[str]) -> str | None:
    for a, b, c in LINES:
        if board[a] and board[a] == board[b] == board[c]:
            return board[a]
    return None


def value(board: list[str], me: str, them: str, my_turn: bool) -> int:
    """Minimax from `me`'s side: 1 a win, 0 a draw, -1 a loss."""
    return _solved(tuple(board), me, them, my_turn)


@functools.cache
def _solved(board: tuple[str, ...], me: str, them: str, my_turn: bool) -> int:
    won = winner(list(board))
    if won:
        return 1 if won == me else -1
    empty = [i for i, mark in enumerate(board) if not mark]
    if not empty:
        return 0
    mark = me if my_turn else them
    scores = [
        _solved((*board[:cell], mark, *board[cell + 1 :]), me, them, not my_turn) for cell in empty
    ]
    return max(scores) if my_turn else min(scores)


def best_cell(board: list[str], me: str) -> int:
    """A perfect move (the page's player never loses, so the match ends in a reward) that
    also sets the most traps: of the moves that keep the best result, the one after which
    the most replies lose to perfect play. The easy computer looks two plies ahead, so it
    walks into a fork it cannot see; playing for traps wins about half the games from the
    second seat, where the first perfect move found wins 44 % (the rest are draws)."""
    them = MARKS[1 - MARKS.index(me)]
    empty = [i for i, mark in enumerate(board) if not mark]

    def after(cell: int, mark: str, then: Callable[[], int]) -> int:
        board[cell] = mark
        try:
            return then()
        finally:
            board[cell] = ""

    def score(cell: int) -> int:
        return after(cell, me, lambda: value(board, me, them, False))

    def traps(cell: int) -> int:
        def losing_replies() -> int:
            if winner(board) or all(board):
                return len(empty)  # a won game outranks any trap
            replies = [i for i, mark in enumerate(board) if not mark]
            return sum(
                after(reply, them, lambda: value(board, me, them, True)) == 1 for reply in replies
            )

        return after(cell, me, losing_replies)

    best = max(score(cell) for cell in empty)
    return max((cell for cell in empty if score(cell) == best), key=traps)


async def read_board(match: Locator) -> list[str]:
    return [text.strip() for text in await match.locator("button.cell").all_text_contents()]


async def frames_of(page: Page, kind: str) -> list[dict[str, Any]]:
    """The frames of one type that the protocol pane lists, parsed."""
    texts = await page.locator(f'#frames li[data-type="{kind}"] code.line').all_text_contents()
    return [json.loads(text) for text in texts]


async def play_the_computer(page: Page, game: str, level: str) -> Locator:
    await page.select_option('#computer-form select[name="game"]', game)
    await page.select_option('#computer-form select[name="level"]', level)
    await page.click('#computer-form button[type="submit"]')
    match = page.locator("#match")
    await expect(match).to_have_attribute("data-status", "active")
    return match


async def test_a_player_plays_tictactoe_against_the_computer_on_easy_for_coins(
    tabs: Tabs, site: Site, db: AsyncDatabase[dict[str, Any]]
) -> None:
    player: Player = await enter_town(tabs, site, "solo")
    page = player.page
    # A first join's daily bonus comes just after `joined`: count from after it.
    bonus = page.locator('#frames li[data-type="coins"]', has_text="daily_bonus")
    await expect(bonus).to_have_count(1)
    coins_before = int(await page.locator("#coins").text_content() or 0)

    match = await play_the_computer(page, "tictactoe", "easy")
    await expect(match).to_have_attribute("data-opponent", "computer")
    await expect(match).to_have_attribute("data-level", "easy")
    await expect(match.locator("h2")).to_contain_text("Computer (easy)")
    seat = int(await match.get_attribute("data-seat") or "")
    me, them = MARKS[seat], MARKS[1 - seat]

    while True:
        await expect(match.locator(".turn")).to_have_text(TURN_OR_END)
        if await match.get_attribute("data-status") != "active":
            break
        board = await read_board(match)
        # Every turn but the first of seat 0 follows one of the computer's, drawn on the board.
        assert board.count(them) == board.count(me) + (1 if seat == 1 else 0)
        cell = best_cell(board, me)
        await match.locator(f'button[data-cell="{cell}"]').click()
        await expect(match.locator(f'button[data-cell="{cell}"]')).to_have_text(me)

    board = await read_board(match)
    assert board.count(them) >= 2  # the computer's moves, as the page drew them
    assert await match.locator(f"button.seat-{1 - seat}").count() == board.count(them)
    # The computer's answers come in the move's reply when they fit its budget, else as a
    # push: a quiet run may see no push at all, so every state the page got is checked.
    states = await frames_of(page, "match_state")
    assert states and all(f["opponent"] == "computer" for f in states)
    end = (await frames_of(page, "match_end"))[-1]
    assert end["opponent"] == "computer" and end["level"] == "easy"
    assert end["result"] in ("win", "draw")  # a perfect player never loses
    reward = 10 if end["result"] == "win" else 5  # the game's defaults
    assert end["reward"] == reward and end["rewardReason"] is None
    await expect(match.locator(".turn")).to_contain_text(
        "You won" if end["result"] == "win" else "A draw"
    )
    await expect(match.locator(".reward")).to_have_text(f"+{reward} coins")
    await expect(match.locator(".reward")).to_have_attribute("data-reward", str(reward))
    # The match's stamps (a first match played out, a first win) may pay coins of their own.
    stamps = ["first_match", "first_win"] if end["result"] == "win" else ["first_match"]
    await expect(page.locator('#frames li[data-type="stamp_earned"]')).to_have_count(len(stamps))
    earned = [f["stamp"] for f in await frames_of(page, "stamp_earned")]
    assert sorted(s["id"] for s in earned) == stamps
    stamp_coins = sum(s["reward"] for s in earned)
    await expect(page.locator("#coins")).to_have_text(str(coins_before + reward + stamp_coins))
    stored = await db.matches.find_one({"wallets": player.wallet})
    assert stored is not None and stored["status"] == "completed"
    await screenshot(page, "play-computer.png")

    await page.click("#load-history")
    entry = page.locator("#match-history li").first
    await expect(entry).to_contain_text("Tic-tac-toe vs Computer (easy)")
    await expect(entry.locator(".reward")).to_have_text(f"+{reward} coins")
    await expect(entry).to_have_attribute("data-reward", str(reward))
    await page.click("#match button.close")
    await expect(match).to_be_hidden()
    await tabs.close(player.tab)


async def test_a_match_given_up_pays_nothing_and_the_page_says_why(tabs: Tabs, site: Site) -> None:
    player: Player = await enter_town(tabs, site, "quitter")
    page = player.page

    match = await play_the_computer(page, "connect_four", "hard")
    await expect(match.locator("h2")).to_contain_text("Computer (hard)")
    first = await match.get_attribute("data-match-id")
    await page.click("#match button.forfeit")

    await expect(match).to_have_attribute("data-status", "completed")
    await expect(match.locator(".turn")).to_contain_text("You lost (forfeit)")
    reward = match.locator(".reward")
    await expect(reward).to_have_text("No reward: the match was forfeited")
    await expect(reward).to_have_attribute("data-reward-reason", "forfeit")

    await page.click("#match button.again")  # the same game and level
    await expect(match).to_have_attribute("data-status", "active")
    assert await match.get_attribute("data-match-id") != first
    await expect(match).to_have_attribute("data-game", "connect_four")
    await expect(match).to_have_attribute("data-level", "hard")
    await page.click("#match button.forfeit")
    await expect(match).to_have_attribute("data-status", "completed")

    await page.click("#load-history")
    entries = page.locator("#match-history li")
    await expect(entries).to_have_count(2)
    await expect(entries.first).to_contain_text("Connect four vs Computer (hard): loss (forfeit)")
    await expect(entries.first.locator(".reward")).to_have_text("no coins")
    await tabs.close(player.tab)


# The seat's reasons the server sends (the computer's own seat never gets a frame).
REWARD_REASONS = [*GIVEN_UP, rewards.LOST, rewards.TOO_FEW_MOVES, rewards.NO_REWARD,
                  rewards.DAILY_CAP, rewards.PAIR_CAP, rewards.COMPUTER_CAP]  # fmt: skip


async def test_every_reward_reason_reads_as_words(tabs: Tabs, site: Site) -> None:
    tab = await tabs.new("rewards", site.url + "/play")
    texts: dict[str, list[str]] = await tab.page.evaluate(
        """async (reasons) => {
          const { rewardText } = await import("/static/play/rewards.js");
          const text = (reward, rewardReason) => rewardText({ reward, rewardReason });
          return Object.fromEntries(reasons.map((r) => [r, [text(0, r), text(4, r)]]));
        }""",
        REWARD_REASONS,
    )
    for reason, (none, cut) in texts.items():
        assert none.startswith("No reward: ") and "_" not in none, (reason, none)
        assert none != f"No reward: {reason.replace('_', ' ')}", (reason, none)  # not the fallback
        assert cut.startswith("+4 coins (") and "_" not in cut, (reason, cut)
    assert len({none for none, _ in texts.values()}) == len(REWARD_REASONS)  # each its own
    assert texts["daily_cap"][0] == "No reward: daily cap reached"
    assert texts["daily_cap"][1] == "+4 coins (daily cap reached)"
    await tabs.close(tab)
