"""The staff console in Chromium: an admin signs in with a wallet (a Phantom-like provider
holding the admin's key), grants coins that reach a player's open page, creates a promo
code, checks the ledger and draws the report; an analyst sees everything read-only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Request, expect
from pymongo.asynchronous.database import AsyncDatabase

from tests.browser.support import Player, Site, Tab, Tabs, enter_town, open_console, screenshot
from tests.support import http_token

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium


ANALYST_VIEWS = [
    "overview", "players", "reports", "matches", "leaderboards", "promos", "migrations",
    "collusion", "audit", "ledger", "report",
]  # fmt: skip


@pytest.fixture(scope="module")
async def admin(tabs: Tabs, site: Site) -> AsyncIterator[Tab]:
    tab = await open_console(tabs, site, "admin", site.admin)
    yield tab
    await tabs.close(tab)


@pytest.fixture(scope="module")
async def analyst(tabs: Tabs, site: Site) -> AsyncIterator[Tab]:
    tab = await open_console(tabs, site, "analyst", site.analyst)
    yield tab
    await tabs.close(tab)


@pytest.fixture(scope="module")
async def carol(tabs: Tabs, site: Site) -> AsyncIterator[Player]:
    player = await enter_town(tabs, site, "carol")
    await expect(player.page.locator("#coins")).to_have_text("25")  # the daily bonus came
    yield player
    await tabs.close(player.tab)


async def view(tab: Tab, name: str) -> None:
    await tab.page.click(f'#nav button[data-view="{name}"]')
    await expect(tab.page.locator(f"#view-{name}")).to_be_visible()


async def test_an_admin_grant_reaches_the_players_page_and_the_ledger_names_the_admin(
    admin: Tab, carol: Player, site: Site, db: AsyncDatabase[dict[str, Any]]
) -> None:
    page = admin.page
    posted: list[Request] = []
    page.on("request", lambda r: posted.append(r) if r.url.endswith("/admin/coins") else None)
    await view(admin, "coins")
    await page.fill("#adjust-wallet", carol.wallet)
    await page.fill("#adjust-amount", "100")
    await page.fill("#adjust-reason", "Winner of the browser test")

    await page.dblclick("#adjust-submit")  # a double click submits the form twice

    await expect(carol.page.locator("#coins")).to_have_text("125")
    await expect(page.locator("#adjust-result")).to_have_attribute("data-balance", "125")
    await expect(page.locator("#adjust-result")).to_contain_text("Applied +100")
    assert len(posted) == 2
    grants = await db.transactions.find(
        {"walletAddress": carol.wallet, "type": "admin_adjustment"}
    ).to_list()
    assert [(g["amount"], g["actor"], g["reason"]) for g in grants] == [
        (100, f"admin:{site.admin.address}", "Winner of the browser test")
    ]
    user = await db.users.find_one({"walletAddress": carol.wallet})
    assert user is not None and user["coins"] == 125

    await view(admin, "players")
    await page.fill("#lookup-wallet", carol.wallet)
    await page.press("#lookup-wallet", "Enter")
    ledger = page.locator("#ledger-table tbody tr", has_text="admin_adjustment")
    await expect(ledger.locator('td[data-key="actor"]')).to_have_text(f"admin:{site.admin.address}")
    await expect(ledger.locator('td[data-key="balanceAfter"]')).to_have_text("125")
    await expect(page.locator("#lookup-presence")).to_contain_text("yes")
    await screenshot(page, "console.png")


async def test_editing_the_form_makes_a_new_adjustment(
    admin: Tab, carol: Player, db: AsyncDatabase[dict[str, Any]]
) -> None:
    page = admin.page
    await view(admin, "coins")
    await page.fill("#adjust-wallet", carol.wallet)
    await page.fill("#adjust-amount", "-5")
    await page.fill("#adjust-reason", "Correction after the browser test")

    await page.click("#adjust-submit")
    await expect(page.locator("#adjust-result")).to_contain_text("Applied -5")
    await page.fill("#adjust-amount", "-6")
    await page.click("#adjust-submit")

    await expect(page.locator("#adjust-result")).to_contain_text("Applied -6")
    entries = await db.transactions.count_documents(
        {"walletAddress": carol.wallet, "amount": {"$lt": 0}}
    )
    assert entries == 2


async def test_the_overview_shows_live_connections_and_refreshes_while_open(
    admin: Tab, carol: Player, tabs: Tabs, site: Site
) -> None:
    await view(admin, "overview")
    signed_in = admin.page.locator('#overview-connections dt:text-is("signed in") + dd')
    town = admin.page.locator("#overview-rooms tbody tr", has_text="Town")
    await expect(signed_in).to_have_text("1")  # carol

    newcomer = await enter_town(tabs, site, "dave")

    await expect(signed_in).to_have_text("2")
    await expect(town.locator('td[data-key="population"]')).to_have_text("2")
    await tabs.close(newcomer.tab)
    await expect(signed_in).to_have_text("1")
    await expect(town.locator('td[data-key="population"]')).to_have_text("1")


async def test_an_admin_creates_a_promo_code(
    admin: Tab, site: Site, db: AsyncDatabase[dict[str, Any]]
) -> None:
    page = admin.page
    await view(admin, "promos")
    await page.fill("#promo-code", "BROWSER10")
    await page.fill("#promo-coins", "10")
    await page.fill("#promo-max", "5")

    await page.click('#promo-form button[type="submit"]')

    await expect(page.locator("#promos-table")).to_contain_text("BROWSER10")
    promo = await db.promo_codes.find_one({"code": "BROWSER10"})
    assert promo is not None and promo["coins"] == 10 and promo["maxRedemptions"] == 5
    assert promo["createdBy"] == f"admin:{site.admin.address}"


async def test_the_ledger_check_runs_in_the_page(admin: Tab) -> None:
    await view(admin, "ledger")

    await admin.page.click("#verify-run")

    await expect(admin.page.locator("#verify-status")).to_have_attribute("data-ok", "true")
    await expect(admin.page.locator("#verify-facts")).to_contain_text("entries")


async def test_the_report_draws_its_charts(admin: Tab, carol: Player) -> None:
    await view(admin, "report")

    await expect(admin.page.locator("#report-status")).to_have_attribute("data-ready", "true")

    # The coin-flow chart has green "created" bars (daily bonuses, the grant).
    green = await admin.page.evaluate(
        """() => {
             const canvas = document.querySelector("#chart-coins");
             const { width, height } = canvas;
             const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
             let count = 0;
             for (let i = 0; i < data.length; i += 4) {
               if (data[i + 1] > data[i] + 60 && data[i + 1] > data[i + 2] + 60) count++;
             }
             return count;
           }"""
    )
    assert green > 200


async def test_an_analyst_sees_every_view_but_no_form_that_writes(
    analyst: Tab, carol: Player
) -> None:
    page = analyst.page
    tabs = await page.locator("#nav button").evaluate_all("els => els.map(e => e.dataset.view)")
    assert tabs == ANALYST_VIEWS
    await expect(page.locator("#who")).to_contain_text("analyst (read-only)")

    await expect(page.locator("#overview-connections")).to_be_visible()
    await view(analyst, "players")
    await page.fill("#lookup-wallet", carol.wallet)
    await page.press("#lookup-wallet", "Enter")
    await expect(page.locator("#lookup-profile")).to_contain_text(carol.wallet)
    await expect(page.locator("#ledger-table")).to_contain_text("daily_bonus")
    await view(analyst, "promos")
    await expect(page.locator("#promos-list")).not_to_be_empty()
    await view(analyst, "ledger")
    await page.click("#verify-run")
    await expect(page.locator("#verify-status")).to_have_attribute("data-ok", "true")
    await view(analyst, "report")
    await expect(page.locator("#report-status")).to_have_attribute("data-ready", "true")

    for writer in ("#adjust-form", "#promo-form", "#lookup-adjust", "#view-coins"):
        assert await page.locator(writer).count() == 0, writer


async def test_an_analysts_direct_write_is_refused_with_403(
    site: Site, carol: Player, db: AsyncDatabase[dict[str, Any]]
) -> None:
    token = await http_token(site.url, site.analyst)
    headers = {"Authorization": f"Bearer {token}"}
    grant_body = {"walletAddress": carol.wallet, "amount": 1000, "reason": "analyst tries",
                  "idempotencyKey": "analyst-1"}  # fmt: skip
    async with httpx.AsyncClient(base_url=site.url, headers=headers) as http:
        grant = await http.post("/admin/coins", json=grant_body)
        promo = await http.post("/admin/promos", json={"code": "ANALYST", "maxRedemptions": 1})

    assert grant.status_code == promo.status_code == 403
    assert grant.json()["code"] == "forbidden"
    assert await db.transactions.count_documents({"idempotencyKey": {"$regex": "analyst-1"}}) == 0
    assert await db.promo_codes.count_documents({"code": "ANALYST"}) == 0


@pytest.mark.parametrize("path", ["/play", "/console"])
async def test_both_pages_carry_the_content_security_policy(
    tabs: Tabs, site: Site, path: str
) -> None:
    tab = await tabs.new("csp", site.url + path)

    assert tab.response is not None
    policy = await tab.response.header_value("content-security-policy")
    await tabs.close(tab)
    assert policy is not None and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy


async def test_a_wallet_without_a_staff_role_is_told_how_to_get_one(tabs: Tabs, site: Site) -> None:
    tab = await tabs.new("stranger", site.url + "/console")

    await tab.page.click("#sign-in-dev")

    status = tab.page.locator("#status")
    await expect(status).to_contain_text("has no staff role")
    await expect(status).to_contain_text("ADMIN_WALLETS")
    assert await tab.page.locator("#nav button").count() == 0
    await tabs.close(tab)
