"""With CLUBPENGU_ENV=production the pages offer no development key and say why; a wallet
(Phantom) still signs in, on the playground and on the console."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import expect
from pymongo import MongoClient

from tests.browser.support import Site, Tabs, open_console, serve_site
from tests.support import Wallet, stop_serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium

PRODUCTION_DB = "clubpengu_browser_production"


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory, mongo_uri: str) -> Iterator[Site]:
    admin, analyst = Wallet(), Wallet()
    tmp: Path = tmp_path_factory.mktemp("production")
    serve = serve_site(tmp, mongo_uri, PRODUCTION_DB, admin, analyst, CLUBPENGU_ENV="production")
    try:
        yield Site(serve, admin, analyst)
    finally:
        stop_serve(serve)
        with MongoClient(mongo_uri) as client:
            client.drop_database(PRODUCTION_DB)


@pytest.mark.parametrize("path", ["/play", "/console"])
async def test_production_pages_offer_no_development_key_and_say_why(
    tabs: Tabs, production: Site, path: str
) -> None:
    tab = await tabs.new("production", production.url + path)

    note = tab.page.locator("#sign-in-note")
    await expect(note).to_contain_text("CLUBPENGU_ENV=production")
    await expect(tab.page.locator("#sign-in-dev")).to_be_hidden()
    await expect(tab.page.locator("#sign-in-phantom")).to_be_hidden()  # no Phantom here
    await tabs.close(tab)


async def test_a_wallet_still_walks_the_town_in_production(tabs: Tabs, production: Site) -> None:
    player = Wallet()
    tab = await tabs.new("phantom", production.url + "/play", player)

    await tab.page.click("#sign-in-phantom")

    await expect(tab.page.locator("body")).to_have_class("in-game")
    await expect(tab.page.locator("#me-name")).to_have_attribute("data-wallet", player.address)
    await tabs.close(tab)


async def test_an_admin_signs_in_to_the_console_in_production(tabs: Tabs, production: Site) -> None:
    tab = await open_console(tabs, production, "admin", production.admin)

    await expect(tab.page.locator("#who")).to_contain_text("admin")
    await expect(tab.page.locator("#overview-connections")).to_be_visible()
    await tabs.close(tab)
