"""`report` (docs/protocol.md §13): a player reports another player of their room instance.
The rules are the report service's (services/player_reports.py)."""

from __future__ import annotations

from typing import Any

from clubpengu.errors import Forbidden, NotInRoom
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub
from clubpengu.services.player_reports import Party, ReportService
from clubpengu.transport.messages import Report
from clubpengu.transport.router import Router


def register(router: Router, reports: ReportService, hub: Hub) -> None:
    async def report(connection: Connection, message: Report) -> dict[str, Any]:
        member = hub.member(connection)
        if member is None or member.room is None:
            raise NotInRoom()
        if connection.wallet is None:
            raise Forbidden("Guests cannot send reports; sign in with a wallet")
        player = await hub.player_in_room(connection, message.player_id)
        report_id = await reports.report(
            Party(connection.wallet, member.username, member.player_id),
            Party(player.get("walletAddress"), player["username"], player["playerId"]),
            member.room.id,
            message.category,
            message.text,
        )
        return {"type": "report_received", "reportId": report_id}

    router.add("report", Report, report)
