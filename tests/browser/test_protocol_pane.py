"""The playground's protocol pane in Chromium: whole frames that expand and collapse, copy,
a filter by type, pause, the send box with the connection's rid handling and the latency
of replies, the room list's refresh kept out of sight, and the protocol document linked."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Locator, expect

from tests.browser.support import Player, Site, Tabs, enter_town
from tests.support import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first run may install Chromium


@pytest.fixture(scope="module")
async def player(tabs: Tabs, site: Site) -> AsyncIterator[Player]:
    player = await enter_town(tabs, site, "developer")
    await player.tab.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=site.url
    )
    yield player
    await tabs.close(player.tab)


async def send(player: Player, frame: str) -> Locator:
    """Send `frame` from the box; the result line once the reply came."""
    page = player.page
    await page.fill("#send-form textarea", frame)
    await page.click('#send-form button[type="submit"]')
    result = page.locator("#send-result")
    await expect(result).not_to_have_text("Waiting for the reply…")
    return result


async def test_a_frame_without_rid_gets_one_and_its_reply_shows_the_latency(
    player: Player,
) -> None:
    page = player.page

    result = await send(player, '{"type": "ping"}')

    await expect(result).to_contain_text(": pong in ")
    sent = json.loads(await page.locator('#frames li.out[data-type="ping"] code').last.inner_text())
    reply = page.locator('#frames li.in[data-type="pong"]').last
    assert isinstance(sent["rid"], int)
    assert json.loads(await reply.locator("code").inner_text())["rid"] == sent["rid"]
    latency = await reply.get_attribute("data-latency")
    assert latency is not None and int(latency) >= 0
    await expect(reply.locator(".latency")).to_have_text(f"{latency} ms")


async def test_a_frame_keeps_its_own_rid_and_an_error_is_its_reply(player: Player) -> None:
    page = player.page

    result = await send(player, '{"type": "fly", "rid": "mine-1"}')

    await expect(result).to_contain_text('rid "mine-1": error unknown_type in ')
    error = page.locator('#frames li.in[data-type="error"]').last
    assert json.loads(await error.locator("code").inner_text())["rid"] == "mine-1"
    await expect(error).to_have_attribute("data-latency", re.compile(r"^\d+$"))


async def test_the_send_box_refuses_what_is_not_a_frame(player: Player) -> None:
    for text, said in [
        ("{nope", "Not JSON"),
        ("[1]", 'string "type"'),
        ('{"x":1}', 'string "type"'),
    ]:
        result = await send(player, text)
        await expect(result).to_contain_text(said)


async def test_a_long_frame_is_whole_and_expands_collapses_and_copies(player: Player) -> None:
    page = player.page
    await send(player, '{"type": "catalog"}')
    reply = page.locator('#frames li.in[data-type="catalog"]').last
    line = await reply.locator("code.line").inner_text()
    catalog = json.loads(line)  # the whole frame, not cut
    assert len(line) > 600 and len(catalog["items"]) > 10

    await reply.locator("button.toggle").click()
    await expect(reply).to_have_class(re.compile(r"\bopen\b"))
    assert json.loads(await reply.locator("pre").inner_text()) == catalog
    await reply.locator("button.toggle").click()
    await expect(reply.locator("pre")).to_have_count(0)

    await reply.locator("button.copy").click()
    await expect(reply.locator("button.copy")).to_have_text("Copied")
    copied = await page.evaluate("() => navigator.clipboard.readText()")
    assert json.loads(copied) == catalog


async def test_the_filter_shows_only_the_types_asked_for(player: Player) -> None:
    page = player.page
    await send(player, '{"type": "ping"}')
    pongs = page.locator('#frames li[data-type="pong"]')
    joined = page.locator('#frames li[data-type="joined"]')

    await page.fill("#frame-filter", "pong")
    await expect(pongs.last).to_be_visible()
    await expect(joined.first).to_be_hidden()
    await page.fill("#frame-filter", "-pong")
    await expect(pongs.last).to_be_hidden()
    await expect(joined.first).to_be_visible()
    await page.fill("#frame-filter", "")
    await expect(pongs.last).to_be_visible()


async def test_pause_holds_frames_until_resumed(player: Player) -> None:
    page = player.page
    frames = page.locator("#frames li")
    await send(player, '{"type": "ping"}')
    before = await frames.count()

    await page.click("#pause-frames")
    await send(player, '{"type": "ping", "rid": "held"}')
    await expect(page.locator("#pause-frames")).to_contain_text("held")
    assert await frames.count() == before

    await page.click("#pause-frames")
    await expect(page.locator("#pause-frames")).to_have_text("Pause")
    held = page.locator('#frames li[data-type="pong"]').last
    assert json.loads(await held.locator("code").inner_text())["rid"] == "held"


async def test_the_room_list_refresh_stays_out_of_sight_unless_asked_for(player: Player) -> None:
    page = player.page
    refresh = page.locator('#frames li.quiet[data-type="rooms"]')
    await expect(refresh.first).to_be_attached()
    # Every refresh is one request and one reply, both quiet.
    assert await page.locator("#frames li.quiet.out").count() >= 1

    await expect(refresh.first).to_be_hidden()
    await page.check("#show-quiet")
    await expect(refresh.first).to_be_visible()
    await page.uncheck("#show-quiet")
    await expect(refresh.first).to_be_hidden()


async def test_an_hour_of_room_list_refreshes_pushes_out_no_frame_worth_reading(
    player: Player,
) -> None:
    """A pane of its own (the page's module, the page's markup) given one frame, then the
    720 requests and replies of an hour's refreshes every 5 s: the frame is still there and
    the refreshes keep only their last few lines."""
    lines = await player.page.evaluate(
        """async () => {
             const { FramePane } = await import("/static/play/frames.js");
             const root = document.createElement("div");
             root.innerHTML = document.querySelector("#frames").closest("section").innerHTML;
             root.querySelector("#frames").replaceChildren();
             const pane = new FramePane(root, null);
             pane.log("in", { type: "chat_message", text: "worth reading" });
             for (let rid = 1; rid <= 720; rid++) {
               pane.log("out", { type: "rooms", rid }, { quiet: true });
               pane.log("in", { type: "rooms", rid, rooms: [] }, { latency: 3, quiet: true });
             }
             const items = [...root.querySelectorAll("#frames li")];
             return { kept: items.filter((li) => li.dataset.type === "chat_message").length,
                      quiet: items.filter((li) => li.classList.contains("quiet")).length };
           }"""
    )

    assert lines["kept"] == 1
    assert 0 < lines["quiet"] <= 20


async def test_the_protocol_document_is_linked_and_served(player: Player, site: Site) -> None:
    page = player.page
    link = page.locator("#protocol-doc")
    await expect(link).to_have_attribute("href", "/docs/protocol.md")

    text: Any = await page.evaluate("async () => (await fetch('/docs/protocol.md')).text()")

    assert text == (ROOT / "docs" / "protocol.md").read_text()
