"""Client frames as pydantic models: snake_case in Python, camelCase on the wire.

Each model is named after its wire `type`. Unknown extra fields are ignored so that
clients may add fields (a client version, say) without breaking older servers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Frame(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class Ping(Frame):
    """`{"type":"ping"}` -> `{"type":"pong","ts":<ms>}`: a client-side keepalive/latency probe."""


# --- sign-in (docs/protocol.md §1) -------------------------------------------------------
# A missing or non-string wallet or signature is `invalid_message`, as a missing field is
# everywhere; text that is not a wallet or a signature is answered with `auth_failure` and
# its protocol code (invalid_wallet / invalid_signature), checked by the auth service.
AuthText = Annotated[str, Field(strict=True)]


# A client-chosen id of the device (kept in its storage), hashed before it is stored.
DeviceId = Annotated[str, Field(strict=True, min_length=1, max_length=128)]


class AuthRequest(Frame):
    wallet_address: AuthText | None = None
    client_device_id: DeviceId | None = None


class AuthVerify(Frame):
    wallet_address: AuthText
    signature: AuthText


class Logout(Frame):
    pass


# --- entering the world (docs/protocol.md §2) --------------------------------------------


class Join(Frame):
    token: str | None = Field(default=None, max_length=4096)
    room: str | None = Field(default=None, min_length=1, max_length=64)
    client_version: str | None = Field(default=None, max_length=64)
    client_device_id: DeviceId | None = None


class ChangeRoom(Frame):
    room: str = Field(min_length=1, max_length=64)


class Rooms(Frame):
    pass


class GetStats(Frame):
    pass


class Leaderboard(Frame):
    """The game and period are checked by the service (services/leaderboards.py), which
    names the ones it knows."""

    game: str = Field(min_length=1, max_length=40)
    period: str = Field(default="all", max_length=10)


class Stamps(Frame):
    pass


# --- economy and saves (docs/protocol.md §6, §7, §9) -------------------------------------


class CatalogRequest(Frame):
    pass


class Purchase(Frame):
    item_id: str = Field(min_length=1, max_length=40)
    idempotency_key: str = Field(min_length=1, max_length=64)


class Equip(Frame):
    slot: str = Field(min_length=1, max_length=20)
    item_id: str | None = Field(max_length=40)


class SetCustomization(Frame):
    customization: dict[str, str | None] = Field(min_length=1, max_length=12)


class RedeemPromo(Frame):
    code: str = Field(min_length=1, max_length=64)


class MigrateData(Frame):
    local_data: dict[str, Any]


# --- puffles (docs/protocol.md §10) ------------------------------------------------------


class PuffleList(Frame):
    pass


class PuffleAdopt(Frame):
    color: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=16)


class PuffleCare(Frame):
    """`puffle_feed`, `puffle_play`, `puffle_bathe` and `puffle_rest` share this shape."""

    puffle_id: str = Field(min_length=1, max_length=24)
    item_id: str = Field(min_length=1, max_length=40)


class PuffleWalk(Frame):
    puffle_id: str | None = Field(max_length=24)


class PuffleRelease(Frame):
    puffle_id: str = Field(min_length=1, max_length=24)


# --- challenges and matches (docs/protocol.md §11) ---------------------------------------


class ChallengeSend(Frame):
    """A challenge to a player in the room (`targetPlayerId`), or with `"opponent":
    "computer"` a match against the computer at `level`, started at once (no wager)."""

    target_player_id: str | None = Field(default=None, min_length=1, max_length=40)
    game: str = Field(min_length=1, max_length=40)
    wager: int = Field(default=0, ge=0, strict=True)
    opponent: Literal["player", "computer"] = "player"
    level: Literal["easy", "normal", "hard"] = "normal"


class ChallengeAnswer(Frame):
    """`challenge_accept`, `challenge_decline` and `challenge_cancel` share this shape."""

    challenge_id: str = Field(min_length=1, max_length=24)


class MatchMove(Frame):
    match_id: str = Field(min_length=1, max_length=24)
    move: dict[str, Any]


class MatchForfeit(Frame):
    match_id: str = Field(min_length=1, max_length=24)


class MatchWatch(Frame):
    """`match_watch` and `match_unwatch`."""

    match_id: str = Field(min_length=1, max_length=24)


class MatchHistory(Frame):
    limit: int = Field(default=20, ge=1, le=50, strict=True)
    before: datetime | None = None


# --- presence in a room (docs/protocol.md §3) --------------------------------------------
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


# --- reports (docs/protocol.md §13) --------------------------------------------------------


class Report(Frame):
    player_id: str = Field(min_length=1, max_length=40)
    category: Literal["chat", "name", "cheating", "other"]
    text: str | None = Field(default=None, max_length=500)


# --- the player's data (docs/protocol.md §14) --------------------------------------------


class DataExport(Frame):
    pass


class DataErasureRequest(Frame):
    pass


class DataErasureCancel(Frame):
    pass


# --- buddies and ignore lists (docs/protocol.md, "Buddies") ------------------------------
WalletText = Annotated[str, Field(strict=True, min_length=1, max_length=64)]


class BuddyRequestFrame(Frame):
    """`buddy_request`: the player by `walletAddress`, or by `playerId` in your room."""

    wallet_address: WalletText | None = None
    player_id: str | None = Field(default=None, min_length=1, max_length=64)


class BuddyWallet(Frame):
    """`buddy_accept`, `buddy_decline`, `buddy_withdraw`, `buddy_remove`, `find_buddy`,
    `ignore`, `unignore`."""

    wallet_address: WalletText


class Buddies(Frame):
    pass
