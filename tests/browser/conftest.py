"""Browser tests: Debian's Chromium driven by Playwright for Python (the pip package and its
bundled driver; Playwright's own browser download is not used), against a real
`clubpengu serve` on a free loopback port.

Chromium is installed with apt-get when /usr/bin/chromium is missing; if that fails the
tests fail with the reason, they never skip. Every page's console is watched: an error
logged or thrown in any open page fails the test during which it happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Playwright, async_playwright, expect
from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    Site,
    Tabs,
    install_chromium,
    serve_site,
)
from tests.support import Wallet, stop_serve

BROWSER_DB = "clubpengu_browser"


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        install_chromium()
    return CHROMIUM


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory, mongo_uri: str) -> Iterator[Site]:
    """`clubpengu serve` (development) with one admin, one moderator and one analyst wallet."""
    admin, analyst, moderator = Wallet(), Wallet(), Wallet()
    serve = serve_site(
        tmp_path_factory.mktemp("site"), mongo_uri, BROWSER_DB, admin, analyst,
        MODERATOR_WALLETS=moderator.address,
    )  # fmt: skip
    try:
        yield Site(serve, admin, analyst, moderator)
    finally:
        stop_serve(serve)
        with MongoClient(mongo_uri) as client:
            client.drop_database(BROWSER_DB)


@pytest.fixture
def db(mongo_client: AsyncMongoClient[dict[str, Any]]) -> AsyncDatabase[dict[str, Any]]:
    """The served node's database, to check what the pages did."""
    return mongo_client[BROWSER_DB]


@pytest.fixture(scope="package")
async def playwright() -> AsyncIterator[Playwright]:
    expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
async def browser(playwright: Playwright, chromium: Path) -> AsyncIterator[Browser]:
    launched = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        await launched.close()


@pytest.fixture(scope="package")
async def tabs(browser: Browser) -> AsyncIterator[Tabs]:
    opened = Tabs(browser)
    yield opened
    for tab in list(opened.open):
        await opened.close(tab)


@pytest.fixture(autouse=True)
def no_console_errors(tabs: Tabs) -> Iterator[None]:
    """No page may log an error or throw while a test runs."""
    tabs.take_errors()
    yield
    errors = tabs.take_errors()
    assert not errors, "\n".join(errors)
