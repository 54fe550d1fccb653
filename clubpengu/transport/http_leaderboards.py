"""`GET /leaderboards/{game}?period=week|all&wallet=`: a game's board, public
(no sign-in), with the rank of `wallet` when given. Thin: parse, call the service, answer
with the body of the WebSocket `leaderboard` reply."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clubpengu.errors import InvalidMessage
from clubpengu.transport import render
from clubpengu.transport.http import node_of

MAX_WALLET = 64


async def get_leaderboard(request: Request) -> JSONResponse:
    """Raises InvalidMessage (unknown game or period; a wallet too long)."""
    query = request.query_params
    wallet = query.get("wallet") or None
    if wallet is not None and len(wallet) > MAX_WALLET:
        raise InvalidMessage(f"wallet: at most {MAX_WALLET} characters")
    board = await node_of(request).services.leaderboards.board(
        request.path_params["game"], query.get("period", "all"), wallet
    )
    return JSONResponse(render.leaderboard(board))


def routes() -> list[Route]:
    return [Route("/leaderboards/{game}", get_leaderboard, methods=["GET"])]
