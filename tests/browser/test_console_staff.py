"""The staff console's trust-and-safety and economy panels in Chromium: the report queue
with its chat context and one-click mute, a player's moderation card (ban, mute, history)
and match history, the match list, held migrations approved and rejected, the collusion
view's links, the audit trail, finding players by name, the revoke button, a moderator's
reduced console (and the server refusing the rest), "Sign out" revoking the token, the
forms worked from the keyboard, and every panel at phone width (390 px)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId
from playwright.async_api import expect
from pymongo.asynchronous.database import AsyncDatabase

from tests.browser.support import Site, Tab, Tabs, open_console, screenshot
from tests.realtime.support import closed_with
from tests.support import Client, Wallet, enter, http_token

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

Db = AsyncDatabase[dict[str, Any]]
MODERATOR_VIEWS = ["players", "reports", "matches", "leaderboards", "collusion"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
async def admin(tabs: Tabs, site: Site) -> AsyncIterator[Tab]:
    tab = await open_console(tabs, site, "admin", site.admin)
    yield tab
    await tabs.close(tab)


@pytest.fixture(scope="module")
async def moderator(tabs: Tabs, site: Site) -> AsyncIterator[Tab]:
    tab = await open_console(tabs, site, "moderator", site.moderator)
    yield tab
    await tabs.close(tab)


@pytest.fixture(scope="module")
async def analyst(tabs: Tabs, site: Site) -> AsyncIterator[Tab]:
    tab = await open_console(tabs, site, "analyst", site.analyst)
    yield tab
    await tabs.close(tab)


async def view(tab: Tab, name: str) -> None:
    await tab.page.click(f'#nav button[data-view="{name}"]')
    await expect(tab.page.locator(f"#view-{name}")).to_be_visible()


async def open_player(tab: Tab, wallet: str) -> None:
    await view(tab, "players")
    await tab.page.fill("#lookup-wallet", wallet)
    await tab.page.press("#lookup-wallet", "Enter")
    await expect(tab.page.locator("#lookup-profile")).to_contain_text(wallet)


async def penguin(
    site: Site, wallet: Wallet | None = None
) -> tuple[Client, Wallet, dict[str, Any]]:
    """A player in the town over a WebSocket: (client, wallet, joined)."""
    wallet = wallet or Wallet()
    client, _, joined = await enter(site.serve.url.replace("http", "ws") + "/ws", wallet)
    return client, wallet, joined


async def insert_user(db: Db, wallet: Wallet, name: str) -> None:
    """A player who is never online (the match and collusion lists link to them)."""
    username = f"{name}{wallet.address[:8]}"
    await db.users.insert_one(
        {"walletAddress": wallet.address, "username": username,
         "usernameLower": username.lower(), "coins": 0}
    )  # fmt: skip


async def insert_match(
    db: Db,
    a: Wallet,
    b: Wallet,
    status: str,
    *,
    winner: Wallet | None = None,
    wager: int = 0,
    minutes_ago: int = 0,
) -> str:
    """A match document as the match service writes them (its players need not be online)."""
    now = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    doc = {
        "game": "tictactoe", "wallets": [a.address, b.address], "wager": wager,
        "players": [{"walletAddress": a.address, "username": "Alpha"},
                    {"walletAddress": b.address, "username": "Beta"}],
        "status": status, "state": {}, "log": [], "seed": 1, "seq": 5, "version": 5,
        "turn": a.address if status == "active" else None,
        "turnDeadline": now + timedelta(days=1) if status == "active" else None,
        "winnerWallet": winner.address if winner else None,
        "result": "three_in_a_row" if winner else None, "stakesRefunded": False,
        "room": "dojo", "createdAt": now, "updatedAt": now,
        "endedAt": None if status == "active" else now, "settledAt": None,
    }  # fmt: skip
    return str((await db.matches.insert_one(doc)).inserted_id)


# --- reports -----------------------------------------------------------------------------------


async def test_a_moderator_mutes_from_the_report_queue_with_the_chat_in_view(
    moderator: Tab, site: Site, db: Db
) -> None:
    rude, rude_wallet, rude_joined = await penguin(site)
    reporter, _, _ = await penguin(site)
    await rude.call({"type": "chat", "text": "give me your password"})
    await reporter.recv_type("chat")
    received = await reporter.call(
        {"type": "report", "playerId": rude_joined["playerId"], "category": "chat",
         "text": "asked for my password"}
    )  # fmt: skip
    report_id = received["reportId"]
    page = moderator.page

    await view(moderator, "reports")  # reads the queue
    card = page.locator(f"#report-{report_id}")
    await expect(card).to_contain_text("asked for my password")
    line = card.locator('tr[data-reported="true"]')
    await expect(line).to_contain_text("give me your password")
    await screenshot(page, "console-reports.png")
    await card.locator(".report-reason").fill("phishing for passwords")
    await card.locator(".report-duration").select_option("24h")
    await card.locator(".report-mute").click()

    await expect(page.locator("#reports-status-line")).to_contain_text("resolved: mute")
    await expect(card).to_have_count(0)  # gone from the open queue
    report = await db.player_reports.find_one({"_id": ObjectId(report_id)})
    assert report is not None and report["status"] == "resolved"
    user = await db.users.find_one({"walletAddress": rude_wallet.address})
    assert user is not None and user["moderation"]["mute"]["reason"] == "phishing for passwords"
    refused = await rude.call({"type": "chat", "text": "hello?"})
    assert refused["code"] == "muted"

    await page.select_option("#reports-status", "resolved")
    await expect(page.locator(f"#report-{report_id} .resolution")).to_contain_text("mute")
    await rude.close()
    await reporter.close()


async def test_a_report_needs_a_reason_before_anything_is_done(
    moderator: Tab, site: Site, db: Db
) -> None:
    target, _, joined = await penguin(site)
    reporter, _, _ = await penguin(site)
    received = await reporter.call(
        {"type": "report", "playerId": joined["playerId"], "category": "name"}
    )
    page = moderator.page
    await view(moderator, "reports")
    await page.select_option("#reports-status", "open")  # the queue is read again
    card = page.locator(f"#report-{received['reportId']}")

    await card.locator(".report-ban").click()

    await expect(card.locator(".report-result")).to_contain_text("Give a reason")
    report = await db.player_reports.find_one({"_id": ObjectId(received["reportId"])})
    assert report is not None and report["status"] == "open"
    await card.locator(".report-reason").fill("not a rude name after all")
    await card.locator(".report-dismiss").click()
    await expect(card).to_have_count(0)
    await target.close()
    await reporter.close()


# --- a player's page: moderation, matches, search by name --------------------------------------


async def test_an_admin_bans_and_unbans_from_the_player_page_and_sees_the_history(
    admin: Tab, site: Site, db: Db
) -> None:
    client, wallet, _ = await penguin(site)
    page = admin.page
    await open_player(admin, wallet.address)
    await expect(page.locator("#moderation-state")).to_contain_text("no")

    await page.fill("#mod-reason", "aimbot in card-jitsu")
    await page.select_option("#mod-duration", "7d")
    await page.fill("#mod-note", "ticket 4411")
    await page.click("#mod-ban")

    assert await closed_with(client) == 4003  # kicked everywhere at once
    await expect(page.locator("#moderation-state")).to_contain_text("aimbot in card-jitsu")
    history = page.locator("#moderation-history tbody tr")
    await expect(history.first).to_contain_text("ban")
    await expect(history.first).to_contain_text("ticket 4411")
    await screenshot(page, "console-player-moderation.png")

    await page.fill("#mod-reason", "appeal accepted")
    await page.click("#mod-unban")

    await expect(page.locator("#moderation-history tbody tr")).to_have_count(2)
    await expect(page.locator("#moderation-history tbody tr").first).to_contain_text("unban")
    user = await db.users.find_one({"walletAddress": wallet.address})
    assert user is not None and user.get("moderation", {}).get("ban") is None


async def test_the_moderation_form_works_from_the_keyboard(admin: Tab, site: Site, db: Db) -> None:
    client, wallet, _ = await penguin(site)
    page = admin.page
    await open_player(admin, wallet.address)

    await page.focus("#mod-reason")
    await page.keyboard.type("spam in the plaza")
    await page.keyboard.press("Enter")  # Enter in a field never acts on its own
    await page.keyboard.press("Tab")  # duration
    await page.keyboard.press("ArrowDown")  # 24 hours -> 7 days
    await page.keyboard.press("Tab")  # note
    await page.keyboard.press("Tab")  # Mute
    await expect(page.locator("#mod-mute")).to_be_focused()
    await page.keyboard.press("Enter")

    await expect(page.locator("#moderation-history tbody tr").first).to_contain_text("mute")
    actions = await db.moderation_actions.find({"walletAddress": wallet.address}).to_list()
    user = await db.users.find_one({"walletAddress": wallet.address})
    assert user is not None and user["moderation"]["mute"]["reason"] == "spam in the plaza"
    assert [a["action"] for a in actions] == ["mute"]  # Enter in the field did nothing
    await client.close()


async def test_players_are_found_by_the_start_of_their_name(admin: Tab, site: Site) -> None:
    client, wallet, joined = await penguin(site)
    name = joined["user"]["username"]
    page = admin.page
    await view(admin, "players")

    await page.fill("#lookup-wallet", name[:-1].lower())
    await page.press("#lookup-wallet", "Enter")

    link = page.locator(f'#search-results a[data-wallet="{wallet.address}"]')
    await expect(link).to_have_text(name)
    await link.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#lookup-profile")).to_contain_text(wallet.address)
    await client.close()


async def test_the_match_list_and_a_players_match_history(admin: Tab, db: Db) -> None:
    alpha, beta = Wallet(), Wallet()
    for wallet, name in ((alpha, "Alpha"), (beta, "Beta")):
        await insert_user(db, wallet, name)
    finished = await insert_match(db, alpha, beta, "completed", winner=beta, minutes_ago=5)
    live = await insert_match(db, alpha, beta, "active")
    page = admin.page

    await view(admin, "matches")
    row = page.locator(f'#matches-table tr[data-match-id="{live}"]')
    await expect(row).to_contain_text("Alpha")
    await expect(row.locator('td[data-key="status"]')).to_have_text("active")
    await page.select_option("#matches-status", "finished")
    done = page.locator(f'#matches-table tr[data-match-id="{finished}"]')
    await expect(done).to_contain_text("Beta (won)")
    await expect(done.locator('td[data-key="reason"]')).to_have_text("three_in_a_row")

    await done.locator(f'a[data-wallet="{alpha.address}"]').click()

    await expect(page.locator("#lookup-profile")).to_contain_text(alpha.address)
    mine = page.locator("#player-matches-table tbody tr")
    await expect(mine).to_have_count(2)
    await expect(mine.nth(0).locator('td[data-key="status"]')).to_have_text("playing")
    await expect(mine.nth(1).locator('td[data-key="status"]')).to_have_text("loss")
    await db.matches.delete_one({"_id": ObjectId(live)})  # no sweeper surprises later


async def test_the_revoke_button_ends_every_session_of_the_player(
    admin: Tab, site: Site, db: Db
) -> None:
    client, wallet, _ = await penguin(site)
    page = admin.page
    await open_player(admin, wallet.address)

    await page.fill("#revoke-reason", "account sharing")
    await page.click("#revoke-run")

    await expect(page.locator("#revoke-result")).to_contain_text("1 session(s) revoked")
    assert await closed_with(client) == 4003
    await expect(page.locator("#lookup-sessions")).to_contain_text("account sharing")
    live = await db.auth_sessions.count_documents(
        {"walletAddress": wallet.address, "revokedAt": None}
    )
    assert live == 0


# --- migrations, collusion, audit --------------------------------------------------------------


async def held_claim(site: Site, coins: int) -> tuple[str, Wallet]:
    client, wallet, _ = await penguin(site)
    save = {"clubpenguin_save": {"coins": coins}, "unlocked_cosmetics": ["red"]}
    result = await client.call({"type": "migrate_data", "localData": save})
    assert result["status"] == "pending_review", result
    await client.close()
    return result["claimId"], wallet


async def test_an_admin_approves_one_held_migration_and_rejects_another(
    admin: Tab, site: Site, db: Db
) -> None:
    approved, rich = await held_claim(site, 5000)
    rejected, _ = await held_claim(site, 40000)
    page = admin.page
    await view(admin, "migrations")
    first = page.locator(f"#claim-{approved}")
    await expect(first).to_contain_text("coins: 5000")
    await screenshot(page, "console-migrations.png")

    await first.locator(".claim-approve").click()  # no reason yet
    await expect(first.locator(".claim-result")).to_contain_text("Give a reason")
    await first.locator(".claim-reason").fill("matches our export")
    await first.locator(".claim-approve").click()
    await expect(page.locator("#migrations-status-line")).to_contain_text("5000 coins credited")
    await expect(page.locator(f"#claim-{approved}")).to_have_count(0)  # the list was read again
    second = page.locator(f"#claim-{rejected}")
    await second.locator(".claim-reason").fill("forged save")
    await second.locator(".claim-reject").click()
    await expect(page.locator("#migrations-status-line")).to_contain_text("rejected")

    user = await db.users.find_one({"walletAddress": rich.address})
    assert user is not None and user["coins"] >= 5000
    entries = await db.transactions.count_documents(
        {"walletAddress": rich.address, "type": "migration", "amount": 5000}
    )
    assert entries == 1
    await page.select_option("#migrations-status", "rejected")
    await expect(page.locator(f"#claim-{rejected}")).to_contain_text("forged save")


async def test_the_collusion_view_links_a_lopsided_pair_to_its_players(
    moderator: Tab, db: Db
) -> None:
    farm, target = Wallet(), Wallet()
    await insert_user(db, target, "Target")
    for minutes in (3, 2, 1):
        await insert_match(db, farm, target, "completed", winner=target, wager=50,
                           minutes_ago=minutes)  # fmt: skip
    page = moderator.page

    await view(moderator, "collusion")

    await expect(page.locator("#collusion-status")).to_have_attribute("data-ready", "true")
    pair = page.locator(
        "#collusion-pairs tbody tr", has=page.locator(f'a[data-wallet="{target.address}"]')
    )
    await expect(pair.locator('td[data-key="matches"]')).to_have_text("3")
    await screenshot(page, "console-collusion.png")
    await pair.locator(f'td[data-key="towards"] a[data-wallet="{target.address}"]').click()
    await expect(page.locator("#lookup-profile")).to_contain_text(target.address)


async def test_the_audit_trail_is_filtered_by_action_and_actor(admin: Tab, site: Site) -> None:
    page = admin.page
    await view(admin, "audit")
    await expect(page.locator("#audit-table")).to_be_visible()

    await page.select_option("#audit-action", "sessions.revoke")
    await page.fill("#audit-actor", site.admin.address)
    await page.press("#audit-actor", "Enter")

    rows = page.locator("#audit-table tbody tr")
    await expect(rows.first).to_contain_text("account sharing")
    actions = await page.locator('#audit-table td[data-key="action"]').all_inner_texts()
    assert actions and set(actions) == {"sessions.revoke"}
    await page.fill("#audit-actor", site.moderator.address)
    await page.select_option("#audit-action", "report.resolve")
    await page.press("#audit-actor", "Enter")
    resolved = page.locator("#audit-table tbody tr", has_text="phishing for passwords")
    await expect(resolved).to_have_count(1)
    await expect(resolved.locator('td[data-key="role"]')).to_have_text("moderator")


# --- roles -------------------------------------------------------------------------------------


async def test_a_moderator_sees_only_what_the_role_allows(moderator: Tab, site: Site) -> None:
    page = moderator.page
    tabs = await page.locator("#nav button").evaluate_all("els => els.map(e => e.dataset.view)")
    assert tabs == MODERATOR_VIEWS
    await expect(page.locator("#who")).to_contain_text("moderator")
    client, wallet, _ = await penguin(site)

    await open_player(moderator, wallet.address)

    await expect(page.locator("#mod-form")).to_be_visible()
    await expect(page.locator("#player-matches")).to_be_visible()
    for admin_only in ("#revoke-form", "#lookup-adjust", "#card-ledger", "#card-data",
                       "#view-coins", "#view-audit", "#view-migrations",
                       "#view-overview"):  # fmt: skip
        assert await page.locator(admin_only).count() == 0, admin_only
    await client.close()


async def test_the_server_refuses_a_moderator_what_the_console_hides(site: Site) -> None:
    target = Wallet().address
    async with httpx.AsyncClient(base_url=site.url, timeout=10) as http:
        token = await http_token("", site.moderator, http)
        headers = {"Authorization": f"Bearer {token}"}
        refused = [
            await http.post("/admin/coins", headers=headers, json={
                "walletAddress": target, "amount": 5, "reason": "nope", "idempotencyKey": "m1"}),
            await http.post(
                f"/admin/users/{target}/revoke", headers=headers, json={"reason": "nope"}
            ),
            await http.get("/admin/audit", headers=headers),
            await http.get("/admin/migrations", headers=headers),
            await http.post(f"/admin/migrations/{ObjectId()}/approve", headers=headers,
                            json={"reason": "nope"}),
            await http.get(f"/admin/transactions?wallet={target}", headers=headers),
        ]  # fmt: skip
        allowed = [
            await http.get("/admin/matches", headers=headers),
            await http.get("/admin/reports", headers=headers),
            await http.get("/admin/economy/suspicious", headers=headers),
        ]

    assert [r.status_code for r in refused] == [403] * len(refused)
    assert [r.status_code for r in allowed] == [200] * len(allowed)


async def test_an_analyst_reads_reports_and_claims_but_cannot_act(analyst: Tab, site: Site) -> None:
    page = analyst.page
    client, wallet, _ = await penguin(site)
    await open_player(analyst, wallet.address)
    await expect(page.locator("#moderation-state")).to_be_visible()
    await view(analyst, "reports")
    await page.select_option("#reports-status", "resolved")
    await expect(page.locator(".report").first).to_be_visible()
    await view(analyst, "migrations")
    await view(analyst, "audit")
    await expect(page.locator("#audit-table")).to_be_visible()

    for writer in ("#mod-form", "#revoke-form", ".resolve", ".decide", "#card-data"):
        assert await page.locator(writer).count() == 0, writer
    async with httpx.AsyncClient(base_url=site.url, timeout=10) as http:
        token = await http_token("", site.analyst, http)
        ban = await http.post(f"/admin/users/{wallet.address}/ban",
                              headers={"Authorization": f"Bearer {token}"},
                              json={"reason": "analyst tries", "duration": None})  # fmt: skip
    assert ban.status_code == 403
    await client.close()


# --- signing out, phone width ------------------------------------------------------------------


async def test_sign_out_revokes_the_token_on_the_server(tabs: Tabs, site: Site) -> None:
    tab = await tabs.new("leaving", site.url + "/console", site.admin)
    async with tab.page.expect_response(lambda r: r.url.endswith("/auth/verify")) as verified:
        await tab.page.click("#sign-in-phantom")
    token = (await (await verified.value).json())["token"]
    await expect(tab.page.locator("body")).to_have_class("signed-in")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=site.url, timeout=10) as http:
        assert (await http.get("/admin/me", headers=headers)).status_code == 200

        await tab.page.click("#sign-out")

        await expect(tab.page.locator("#sign-in")).to_be_visible()
        await expect(tab.page.locator("body")).not_to_have_class("signed-in")
        after = await http.get("/admin/me", headers=headers)
    await tabs.close(tab)
    assert after.status_code == 401 and after.json()["code"] == "not_authenticated"


UNREACHABLE = """() => [...document.querySelectorAll(
    ".view:not([hidden]) :is(input, select, textarea, button, a[href])")]
  .filter((el) => el.getClientRects().length)  // shown
  .filter((el) => {
    const name = el.labels?.length || el.getAttribute("aria-label")
      || (["BUTTON", "A"].includes(el.tagName) && el.textContent.trim());
    return !name || el.tabIndex < 0;
  })
  .map((el) => el.id || el.outerHTML.slice(0, 100))"""


async def test_every_control_of_every_panel_takes_the_focus_and_has_a_name(
    admin: Tab, site: Site
) -> None:
    """What Tab reaches a keyboard (or a screen reader) can work: every field, button and
    link shown in every panel, the player's page included, is focusable and named (a
    label, an aria-label or its text), not a placeholder alone."""
    client, wallet, _ = await penguin(site)
    page = admin.page
    names = await page.locator("#nav button").evaluate_all("els => els.map(e => e.dataset.view)")

    unreachable: dict[str, list[str]] = {}
    for name in names:
        await view(admin, name)
        if name == "players":
            await open_player(admin, wallet.address)
        await page.wait_for_load_state("networkidle")
        if found := await page.evaluate(UNREACHABLE):
            unreachable[name] = found

    assert unreachable == {}
    await client.close()


async def test_every_panel_fits_a_phone_and_sign_out_stays_on_screen(
    tabs: Tabs, site: Site
) -> None:
    tab = await tabs.new("phone", site.url + "/console", site.admin)
    page = tab.page
    await page.set_viewport_size(PHONE)
    await page.click("#sign-in-phantom")
    await expect(page.locator("body")).to_have_class("signed-in")
    names = await page.locator("#nav button").evaluate_all("els => els.map(e => e.dataset.view)")
    client, wallet, _ = await penguin(site)

    overflow: dict[str, int] = {}
    for name in names:
        await view(tab, name)
        if name == "players":
            await page.fill("#lookup-wallet", wallet.address)
            await page.press("#lookup-wallet", "Enter")
            await expect(page.locator("#mod-form")).to_be_visible()
        await page.wait_for_load_state("networkidle")
        width = await page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            overflow[name] = width
        box = await page.locator("#sign-out").bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], name
        if name == "players":
            await screenshot(page, "console-phone.png")

    assert overflow == {}
    await client.close()
    await tabs.close(tab)


async def test_an_admin_switches_a_leaked_promo_code_off_and_on(admin: Tab, db: Db) -> None:
    page = admin.page
    await view(admin, "promos")
    await page.fill("#promo-code", "LEAKED5")
    await page.fill("#promo-coins", "5")
    await page.fill("#promo-max", "5")
    await page.click('#promo-form button[type="submit"]')
    row = page.locator('#promos-table tr[data-code="LEAKED5"]')

    await row.locator(".promo-toggle").click()

    await expect(row.locator('td[data-key="active"]')).to_have_text("no")
    promo = await db.promo_codes.find_one({"code": "LEAKED5"})
    assert promo is not None and promo["active"] is False
    await row.locator(".promo-toggle").click()
    await expect(row.locator('td[data-key="active"]')).to_have_text("yes")
    audited = await db.audit_logs.count_documents(
        {"action": "promo.update", "target": "promo:LEAKED5"}
    )
    assert audited == 2


async def test_a_session_ended_elsewhere_is_said_so(tabs: Tabs, site: Site) -> None:
    tab = await tabs.new("ended", site.url + "/console", site.moderator)
    async with tab.page.expect_response(lambda r: r.url.endswith("/auth/verify")) as verified:
        await tab.page.click("#sign-in-phantom")
    token = (await (await verified.value).json())["token"]
    await expect(tab.page.locator("body")).to_have_class("signed-in")
    async with httpx.AsyncClient(base_url=site.url, timeout=10) as http:
        await http.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})

    await view(tab, "reports")

    await expect(tab.page.locator("#status")).to_contain_text("this session has ended")
    errors = tabs.take_errors()  # the browser logs the refused call itself
    assert errors and all("401" in error for error in errors), errors
    await tabs.close(tab)
