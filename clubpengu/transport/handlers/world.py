"""`join`, `change_room` and `rooms` (docs/protocol.md §2): entering the world and moving between
rooms. The rules are the world service's (services/world.py); this renders its answers."""

from __future__ import annotations

from typing import Any

from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub
from clubpengu.services.connection_log import DEVICE_ID, LOG_ID, ConnectionLogService
from clubpengu.services.world import WorldService
from clubpengu.transport import render
from clubpengu.transport.messages import ChangeRoom, Join, Rooms
from clubpengu.transport.router import Router


class WorldHandlers:
    def __init__(self, world: WorldService, hub: Hub, connection_log: ConnectionLogService) -> None:
        self.world = world
        self.hub = hub
        self.connection_log = connection_log

    async def join(self, connection: Connection, message: Join) -> dict[str, Any]:
        joined = await self.world.join(
            connection, message.token, message.room, message.client_version
        )
        if message.client_device_id is not None:
            connection.attributes[DEVICE_ID] = message.client_device_id
        log_id = connection.attributes.get(LOG_ID)
        if log_id is not None:
            self.connection_log.joined(
                log_id,
                connection.wallet,
                message.client_version,
                connection.attributes.get(DEVICE_ID),
                connection.rooms_visited,
            )
        return render.joined(joined)

    async def change_room(self, connection: Connection, message: ChangeRoom) -> dict[str, Any]:
        return render.joined(await self.world.change_room(connection, message.room))

    # The room browser: public, so a lobby can show it before anyone signs in.
    async def rooms(self, connection: Connection, message: Rooms) -> dict[str, Any]:
        return {"type": "rooms", "rooms": await self.hub.listing()}


def register(
    router: Router, world: WorldService, hub: Hub, connection_log: ConnectionLogService
) -> None:
    handlers = WorldHandlers(world, hub, connection_log)
    router.add("join", Join, handlers.join, public=True, abandonable=True)
    router.add("change_room", ChangeRoom, handlers.change_room)
    router.add("rooms", Rooms, handlers.rooms, public=True)
