"""Helpers of the browser tests: Chromium's installation, the served site, pages (one browser
context each, their console errors collected), and the two ways to sign in."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Response, expect
from pymongo import MongoClient

from tests.support import (
    NO_FARM_LIMITS,
    ROOT,
    ServeProcess,
    Wallet,
    apt_install,
    start_serve,
    stop_serve,
    wait_healthy,
)

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium tries to reach Google, which the closed
# network refuses (and logs).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every run writes its screenshots to var/screenshots (ignored by git); with
# UPDATE_SCREENSHOTS=1 it writes the README's pictures in docs/img instead, so that a plain
# test run leaves the working tree clean.
SCREENSHOTS = ROOT / (
    "docs/img" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "var/screenshots"
)
TIMEOUT_MS = 15_000
JWT_SECRET = "browser-test-secret-" + "y" * 40

# A Phantom-like provider whose signMessage is answered by the test's own ed25519 key
# (exposed to the page as a binding): the page's real Phantom code path, a real signature.
PHANTOM = """
(() => {
  const address = %s;
  const publicKey = { toString: () => address, toBase58: () => address };
  window.phantom = { solana: {
    isPhantom: true,
    async connect() { return { publicKey }; },
    async signMessage(message, display) {
      const signature = await window.clubpenguTestSign(Array.from(message), display);
      return { signature: new Uint8Array(signature), publicKey };
    },
  } };
})();
"""


def install_chromium() -> None:
    """`apt-get install -y chromium` when /usr/bin/chromium is missing."""
    apt_install("chromium", CHROMIUM, "the browser tests")


@dataclass
class Site:
    serve: ServeProcess
    admin: Wallet
    analyst: Wallet
    moderator: Wallet = field(default_factory=Wallet)  # in MODERATOR_WALLETS where served so

    @property
    def url(self) -> str:
        return self.serve.url


def serve_site(
    tmp: Path, mongo_uri: str, db: str, admin: Wallet, analyst: Wallet, **env: str
) -> ServeProcess:
    with MongoClient(mongo_uri) as client:
        client.drop_database(db)
    serve = start_serve(
        tmp / "data",
        {
            "MONGODB_URI": mongo_uri,
            "MONGODB_DB": db,
            "JWT_SECRET": JWT_SECRET,
            "ADMIN_WALLETS": admin.address,
            "ANALYST_WALLETS": analyst.address,
            "DAILY_BONUS_COINS": "25",
            # The pages show the bonus of a first join (the default waits a day or a game).
            "DAILY_BONUS_MIN_AGE": "0",
            # Every page signs in from 127.0.0.1, and the browser tests together sign in
            # more than the default 60 a minute when the machine is quick; the limit has
            # its own tests (tests/transport/test_auth_http.py).
            "AUTH_RATE_PER_IP": "0",
            **NO_FARM_LIMITS,
            **env,
        },
    )
    try:
        wait_healthy(serve)
    except BaseException:
        stop_serve(serve)
        raise
    return serve


@dataclass
class Tab:
    """One page in its own browser context (its own memory: one player or staff member)."""

    name: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    response: Response | None = None  # of the first page load


class Tabs:
    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.open: list[Tab] = []

    async def new(self, name: str, url: str, wallet: Wallet | None = None) -> Tab:
        """Open `url` in a fresh context; with `wallet`, a Phantom-like provider signs with it."""
        context = await self.browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(TIMEOUT_MS)
        if wallet is not None:
            await context.expose_function("clubpenguTestSign", _signer(wallet))
            await context.add_init_script(PHANTOM % repr(wallet.address))
        page = await context.new_page()
        tab = Tab(name, context, page)
        page.on("console", lambda message: _console(tab, message))
        page.on("pageerror", lambda error: tab.errors.append(f"{name}: uncaught {error}"))
        self.open.append(tab)
        tab.response = await page.goto(url)
        return tab

    async def close(self, tab: Tab) -> None:
        self.open.remove(tab)
        await tab.context.close()

    def take_errors(self) -> list[str]:
        errors = [error for tab in self.open for error in tab.errors]
        for tab in self.open:
            tab.errors.clear()
        return errors


def _signer(wallet: Wallet) -> Any:
    def sign(message: list[int], display: str) -> list[int]:
        return list(wallet.key.sign(bytes(message)).signature)

    return sign


def _console(tab: Tab, message: ConsoleMessage) -> None:
    if message.type == "error":
        tab.errors.append(f"{tab.name}: console error: {message.text} ({message.location})")


async def screenshot(page: Page, name: str) -> Path:
    """A picture of the page (see SCREENSHOTS); checked to be a PNG with something on it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    await page.screenshot(path=str(path))
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, path
    return path


@dataclass
class Player:
    tab: Tab
    wallet: str
    player_id: str

    @property
    def page(self) -> Any:
        return self.tab.page

    def entry(self, player_id: str) -> Any:
        """This page's roster entry (the DOM mirror of the canvas) for a player."""
        return self.page.locator(f'#players li[data-player-id="{player_id}"]')


async def enter_town(tabs: Tabs, site: Site, name: str) -> Player:
    tab = await tabs.new(name, site.url + "/play")
    await tab.page.click("#sign-in-dev")
    await expect(tab.page.locator("body")).to_have_class("in-game")
    wallet = await tab.page.locator("#me-name").get_attribute("data-wallet")
    me = tab.page.locator("#players li[data-me]")
    player_id = await me.get_attribute("data-player-id")
    assert wallet and player_id
    return Player(tab, wallet, player_id)


async def open_console(tabs: Tabs, site: Site, name: str, wallet: Wallet) -> Tab:
    tab = await tabs.new(name, site.url + "/console", wallet)
    await tab.page.click("#sign-in-phantom")
    await expect(tab.page.locator("body")).to_have_class("signed-in")
    return tab
