"""`migrate_data`: bring a localStorage save into a new account, once (seed 000 §3): applied
at once, or held for staff review (services/migration.py)."""

from __future__ import annotations

from typing import Any

from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub
from clubpengu.services.migration import MigrationService
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import MigrateData
from clubpengu.transport.router import Router


def register(router: Router, migration: MigrationService, hub: Hub) -> None:
    async def migrate_data(connection: Connection, message: MigrateData) -> dict[str, Any]:
        wallet = require_wallet(connection, "Guests cannot migrate a save; sign in with a wallet")
        result = await migration.migrate(wallet, message.local_data)
        if result.plan.customization:
            await hub.update_look(connection, result.look)
        return {
            "type": "migrate_result",
            "status": result.status,
            "claimId": result.claim_id,
            "held": result.held,
            "accepted": result.plan.accepted(),
            "dropped": [dropped.public() for dropped in result.plan.dropped],
            "coins": result.balance,
            # The save's name was taken by another player: it was given a number.
            "renamed": (
                {"from": result.wished_username, "to": result.plan.username}
                if result.wished_username is not None
                else None
            ),
        }

    router.add("migrate_data", MigrateData, migrate_data)
