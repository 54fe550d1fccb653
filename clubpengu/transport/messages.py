"""Client frames as pydantic models: snake_case in Python, camelCase on the wire.

Each model is named after its wire `type`. Unknown extra fields are ignored so that
clients may add fields (a client version, say) without breaking older servers.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Frame(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class Ping(Frame):
    """`{"type":"ping"}` -> `{"type":"pong","ts":<ms>}`: a client-side keepalive/latency probe."""


# --- sign-in (PROTOCOL.md §1) ------------------------------------------------------------
# Wallet and signature are typed loosely here on purpose: a malformed one is answered with
# `auth_failure` and its protocol code (invalid_wallet / invalid_signature), not with a
# generic `invalid_message`.


class AuthRequest(Frame):
    wallet_address: Any = None


class AuthVerify(Frame):
    wallet_address: Any = None
    signature: Any = None


class Logout(Frame):
    pass


# --- entering the world (PROTOCOL.md §2) -------------------------------------------------


class Join(Frame):
    token: str | None = Field(default=None, max_length=4096)
    room: str | None = Field(default=None, min_length=1, max_length=64)
    client_version: str | None = Field(default=None, max_length=64)


class ChangeRoom(Frame):
    room: str = Field(min_length=1, max_length=64)


# --- presence in a room (PROTOCOL.md §3) -------------------------------------------------
# Coordinates are JSON numbers only (strict: "12" is refused, not coerced), finite.
Coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class Move(Frame):
    x: Coordinate
    y: Coordinate


class Chat(Frame):
    # The 1..200 rule applies after trimming (realtime/chat.py); this only bounds the work.
    text: str = Field(max_length=1000)


class Emote(Frame):
    emote: str = Field(min_length=1, max_length=32)
