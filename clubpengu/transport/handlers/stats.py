"""`get_stats`: a player's counters (database value plus what is still batched);
`leaderboard`: a game's board and the caller's own rank; `stamps`: the stamp catalogue,
earned or not (the profile says which the player holds)."""

from __future__ import annotations

from typing import Any

from clubpengu.progression.stamps import StampCatalog
from clubpengu.realtime.connection import Connection
from clubpengu.services.leaderboards import LeaderboardService
from clubpengu.services.stats import StatsBatcher
from clubpengu.transport import render
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import GetStats, Leaderboard, Stamps
from clubpengu.transport.router import Router


def register(
    router: Router,
    stats: StatsBatcher,
    leaderboards: LeaderboardService,
    stamp_catalog: StampCatalog,
) -> None:
    async def get_stats(connection: Connection, message: GetStats) -> dict[str, Any]:
        wallet = require_wallet(connection, "Guests have no stats; sign in with a wallet")
        return {"type": "stats", "stats": await stats.get_stats(wallet)}

    router.add("get_stats", GetStats, get_stats)

    async def leaderboard(connection: Connection, message: Leaderboard) -> dict[str, Any]:
        board = await leaderboards.board(message.game, message.period, connection.wallet)
        return render.leaderboard(board)

    router.add("leaderboard", Leaderboard, leaderboard)

    # Public like `rooms`: the same list is served to anyone by `GET /stamps`.
    catalogue = render.stamps(stamp_catalog)

    async def stamps(connection: Connection, message: Stamps) -> dict[str, Any]:
        return dict(catalogue)

    router.add("stamps", Stamps, stamps, public=True)
