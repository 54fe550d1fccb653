"""`move`, `chat` and `emote` (docs/protocol.md §3): presence in a room.

None of them has a reply of its own: their effect is a room broadcast (the next `moves`
batch, or the `chat`/`emote` push the sender receives too). A client that sends a `rid`
gets `{"type":"ok","rid":...}` once the message is accepted; errors carry the rid as always.
"""

from __future__ import annotations

from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub
from clubpengu.services.stamp_sessions import StampSessions
from clubpengu.services.stats import StatsBatcher
from clubpengu.transport.messages import Chat, Emote, Move
from clubpengu.transport.router import Router


def register(router: Router, hub: Hub, stats: StatsBatcher, stamps: StampSessions) -> None:
    # High-frequency counters go to the stats batcher (a dict update, no database round
    # trip); guests have none. Chat stamps are counted in memory beside it.
    async def move(connection: Connection, message: Move) -> None:
        hub.move(connection, message.x, message.y)
        if connection.wallet is not None:
            stats.queue(connection.wallet, "world.steps")

    async def chat(connection: Connection, message: Chat) -> None:
        await hub.chat(connection, message.text)
        if connection.wallet is not None:
            stats.queue(connection.wallet, "social.chats")
            stamps.chatted(connection)

    async def emote(connection: Connection, message: Emote) -> None:
        await hub.emote(connection, message.emote)
        if connection.wallet is not None:
            stats.queue(connection.wallet, "social.emotes")

    router.add("move", Move, move, ack=True)
    router.add("chat", Chat, chat, ack=True)
    router.add("emote", Emote, emote, ack=True)
