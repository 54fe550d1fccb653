"""WebSocket handlers, one module per area; each registers its routes on the Router."""

from __future__ import annotations

from clubpengu.errors import Forbidden
from clubpengu.realtime.connection import Connection


def require_wallet(connection: Connection, refusal: str) -> str:
    """The signed-in wallet of the connection; guests get `forbidden` saying `refusal`."""
    if connection.wallet is None:
        raise Forbidden(refusal)
    return connection.wallet
