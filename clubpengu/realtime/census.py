"""What the staff overview counts of this node's connections."""

from __future__ import annotations

from clubpengu.realtime.registry import ConnectionRegistry


def connection_counts(connections: ConnectionRegistry) -> dict[str, int]:
    """Open sockets on this node: signed in with a wallet, guests, and not signed in yet."""
    signed_in = guests = 0
    for connection in connections:
        if connection.wallet is not None:
            signed_in += 1
        elif connection.guest:
            guests += 1
    total = len(connections)
    return {"open": total, "signedIn": signed_in, "guests": guests,
            "anonymous": total - signed_in - guests}  # fmt: skip
