"""What the realtime parts know of moderation: a connection's mute (checked by `chat`
without a query) and where the room's chat lines go to be kept for player reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Mute:
    """A mute in force on a connection's player (`Connection.mute`): it ends at `ends`
    (time.time(); inf: when lifted); `until` is what the player is told (ISO-8601, or
    None: until a moderator lifts it). Set at join and whenever a moderator mutes or
    unmutes the wallet (realtime/sessions.py)."""

    ends: float
    until: str | None

    def active(self, now: float) -> bool:
        return now < self.ends


class ChatRecorder(Protocol):
    """Keeps the chat said in each room instance (services/chat_log.py). Called on the
    hot path for every line: it must only buffer, never wait."""

    def record(
        self,
        room: str,
        wallet: str | None,
        player_id: str,
        username: str,
        sent: str,
        shown: str,
    ) -> None: ...
