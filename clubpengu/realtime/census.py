"""Who is where on this node, for the staff overview: every catalogue room with its open
instances and their populations, in the shape of the `rooms` message (docs/protocol.md §2)."""

from __future__ import annotations

from typing import Any

from clubpengu.realtime.hub import Hub
from clubpengu.realtime.registry import ConnectionRegistry


def room_census(hub: Hub) -> list[dict[str, Any]]:
    """Catalogue rooms in catalogue order; each lists the instances open on this node (the
    first, with the plain id, always), and the room's population is their sum."""
    instances: dict[str, list[dict[str, Any]]] = {}
    for room in hub.rooms.values():
        instances.setdefault(room.spec.id, []).append(
            {"id": room.id, "population": len(room.members), "capacity": room.spec.capacity}
        )
    census = []
    for spec in hub.catalogue.rooms.values():
        listed = sorted(instances.get(spec.id, []), key=lambda i: (i["id"] != spec.id, i["id"]))
        if not listed or listed[0]["id"] != spec.id:
            listed.insert(0, {"id": spec.id, "population": 0, "capacity": spec.capacity})
        census.append(
            {
                "id": spec.id,
                "name": spec.name,
                "game": spec.game,
                "capacity": spec.capacity,
                "population": sum(i["population"] for i in listed),
                "instances": listed,
            }
        )
    return census


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
