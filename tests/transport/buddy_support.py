"""Helpers of the buddy tests: two players made buddies over the WebSocket."""

from __future__ import annotations

from tests.support import Client, Wallet


async def befriend(
    asker: Client, asked: Client, asked_wallet: Wallet, asker_wallet: Wallet
) -> None:
    """`asker` sends a request, `asked` accepts it; both see `buddy_added`."""
    sent = await asker.call({"type": "buddy_request", "walletAddress": asked_wallet.address})
    assert sent["type"] == "buddy_request_sent", sent
    await asked.recv_type("buddy_requested")
    added = await asked.call({"type": "buddy_accept", "walletAddress": asker_wallet.address})
    assert added["type"] == "buddy_added", added
    await asker.recv_type("buddy_added")
