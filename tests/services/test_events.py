"""The per-player event history: sign-ins, failed sign-ins, joins and room changes."""

from __future__ import annotations

from datetime import timedelta

from clubpengu.models import Event
from tests.support import RunningServer, Wallet, connect, enter


async def test_sign_ins_joins_and_room_changes_are_recorded(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet, room="town")
    await client.request({"type": "change_room", "room": "dock"})
    await client.close()

    await server.node.services.events.flush()

    events = await Event.find(Event.wallet_address == wallet.address).sort("+at").to_list()
    assert [e.kind for e in events] == ["sign_in", "join", "room_change"]
    assert events[0].data == {"newUser": True}
    assert events[1].data == {"room": "town"}
    assert events[2].data == {"fromRoom": "town", "toRoom": "dock"}
    assert all(e.expires_at - e.at == timedelta(days=180) for e in events)
    assert all(e.node_id == "node-1" for e in events)


async def test_a_failed_sign_in_is_recorded_with_its_code(server: RunningServer) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        await client.request({"type": "auth_request"})
        await client.request(
            {"type": "auth_verify", "walletAddress": wallet.address, "signature": wallet.sign("x")}
        )

    await server.node.services.events.flush()

    event = await Event.find_one(Event.kind == "sign_in_failed")
    assert event is not None
    assert event.wallet_address == wallet.address
    assert event.data == {"code": "invalid_signature"}
