"""Every bus channel and Redis key the nodes share, in one place.

Channels (pub/sub; at-most-once, nothing durable depends on them):

| channel | carries |
| --- | --- |
| `room:<room id>` | a room's traffic: pushes as they happen, each node's movers once a tick |
| `node:<node id>` | one node's inbox: kicks of its connections, pushes for its players |
| `session:revoke` | revoked sessions, for every node |

Keys (Redis data; the source of truth stays MongoDB, these only coordinate live nodes):

| key | holds |
| --- | --- |
| `session:<wallet>` | the owner of the wallet's live session (realtime/owners.py), as |
| | `<node id> <boot> <connection id> <claimed at, ms>`; TTL: the token's remaining life |

Reserved for room membership across nodes (next to these, not yet used): `room:<room id>`
as a hash of the room's members (room ids may carry an instance suffix, `town~2`), and
`node:<node id>` as a string with a TTL that each node refreshes every few seconds (a
heartbeat). Keys and channels live in separate namespaces in Redis, so a key and a
channel may share a name.
"""

from __future__ import annotations

REVOKE_CHANNEL = "session:revoke"


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def node_channel(node_id: str) -> str:
    return f"node:{node_id}"


def session_key(wallet: str) -> str:
    return f"session:{wallet}"
