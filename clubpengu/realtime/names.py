"""Every bus channel and Redis key the nodes share, in one place.

Channels (pub/sub; at-most-once, nothing durable depends on them):

| channel | carries |
| --- | --- |
| `room:<room id>` | a room's traffic: pushes as they happen, each node's movers once a tick |
| `node:<node id>` | one node's inbox: kicks of its connections, pushes for its players |
| `session:revoke` | revoked sessions, for every node |
| `session:moderation` | bans and erasures (close the wallet's connections), mutes, for every node |
| `buddies` | buddies' presence (online, offline, moved) and new or ended friendships |

Keys (Redis data; the source of truth stays MongoDB, these only coordinate live nodes):

| key | holds |
| --- | --- |
| `session:<wallet>` | the owner of the wallet's live session (realtime/owners/), as |
| | `<node id> <boot> <connection id> <claimed at, ms>`; TTL: the token's remaining life |
| `rooms:<room>` | a room's open instances: suffix → since when empty (ms), 0 if occupied |
| `room:<instance>` | an instance's seats: player id → `<node>\n<player JSON>` |
| `pos:<instance>` | the members' last positions: player id → `x y` |
| `seats:<node>` | the seats a node holds, as `<instance> <player id>` |
| `nodes` | the nodes holding seats |
| `node:<node>` | a node's heartbeat (TTL NODE_TIMEOUT, refreshed every third of it) |
| `reaped:<node>` | set for an hour when a silent node's seats were released |
| `count:<name>:<day>:<key>` | a count of one UTC day (services/counters.py): new wallets |
| | of one address's keyed hash (`new_accounts`); TTL two days |
| `limit:<kind>:<address>` | a token bucket shared by the nodes (`signin`: sign-in attempts), |
| | as `tokens`, `at` (ms); the address as a keyed hash (realtime/counters/redis.py) |
| `conns:<address>` | an address's open sockets: connection id → when its count lapses (ms) |
| `msgs:<address>:<window>` | the messages of an address's sockets on every node in one |
| | window of `MESSAGE_RATE_PER_IP`'s period (its number since the epoch, Redis's clock) |

The room directory's Lua scripts (realtime/directory/lua/) spell these names too, and
realtime/counters/lua/messages.lua appends the window (a script may only build key names
itself). Keys and channels live in separate namespaces
in Redis, so a key and a channel may share a name (`room:town` is both).
"""

from __future__ import annotations

REVOKE_CHANNEL = "session:revoke"
MODERATION_CHANNEL = "session:moderation"
BUDDIES_CHANNEL = "buddies"


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def node_channel(node_id: str) -> str:
    return f"node:{node_id}"


def session_key(wallet: str) -> str:
    return f"session:{wallet}"


NODES_KEY = "nodes"


def node_key(node_id: str) -> str:
    return f"node:{node_id}"


def room_members_key(instance: str) -> str:
    return f"room:{instance}"


def positions_key(instance: str) -> str:
    return f"pos:{instance}"


def count_key(name: str, day: str, key: str) -> str:
    return f"count:{name}:{day}:{key}"


def address_limit_key(kind: str, hashed_address: str) -> str:
    return f"limit:{kind}:{hashed_address}"


def address_count_key(hashed_address: str) -> str:
    return f"conns:{hashed_address}"


def message_count_key(hashed_address: str) -> str:
    """Without the window: the script that counts appends it (realtime/counters/lua/)."""
    return f"msgs:{hashed_address}"
