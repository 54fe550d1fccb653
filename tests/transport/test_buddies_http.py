"""`GET /admin/users/{wallet}/buddies`: a player's lists for the console, staff only."""

from __future__ import annotations

from tests.support import Wallet, enter
from tests.transport.support import Staff


async def test_staff_see_a_player_s_lists_both_ways(staff: Staff) -> None:
    buddies = staff.server.node.services.buddies
    ann, bob, pest = Wallet(), Wallet(), Wallet()
    for wallet in (ann, bob, pest):
        client, _, _ = await enter(staff.server.ws_url, wallet, room="town")
        await client.close()
    await buddies.request(bob.address, ann.address)
    await buddies.accept(ann.address, bob.address)
    await buddies.ignore(ann.address, pest.address)
    await buddies.request(pest.address, ann.address)  # hidden: ann ignores pest
    await buddies.ignore(bob.address, pest.address)

    seen = await staff.get(f"/admin/users/{ann.address}/buddies", who="analyst")
    refused = await staff.get(f"/admin/users/{ann.address}/buddies", who="player")
    bad = await staff.get("/admin/users/nope/buddies")

    assert seen.status_code == 200
    body = seen.json()
    assert [b["walletAddress"] for b in body["buddies"]] == [bob.address]
    assert body["buddies"][0]["online"] is False
    assert [(r["walletAddress"], r["hidden"]) for r in body["requestsReceived"]] == [
        (pest.address, True)
    ]
    assert body["requestsSent"] == []
    assert [i["walletAddress"] for i in body["ignored"]] == [pest.address]
    assert (await staff.read(f"/admin/users/{pest.address}/buddies"))["ignoredBy"] == 2
    assert refused.status_code == 403
    assert bad.status_code == 400
