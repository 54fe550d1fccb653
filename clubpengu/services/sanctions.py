"""The pure rules of bans and mutes: whether one is in force, how long staff may make one,
what a reason and a note may be, and how `until` is written on the wire.

A sanction is in force while its `until` is in the future (or it has none: until lifted).
An expired one needs no job to clear it: every check compares it with the clock.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from clubpengu.config import ConfigError, parse_duration
from clubpengu.errors import InvalidMessage
from clubpengu.models import Moderation, Sanction
from clubpengu.models.base import iso
from clubpengu.realtime.moderation import Mute

MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=3650)  # ten years; longer is `null` (until lifted)
MIN_REASON, MAX_REASON = 3, 200
MAX_NOTE = 1000


def in_force(sanction: Sanction | None, now: datetime) -> bool:
    return sanction is not None and (sanction.until is None or sanction.until > now)


def ban_in_force(moderation: Moderation | None, now: datetime) -> Sanction | None:
    ban = moderation.ban if moderation is not None else None
    return ban if in_force(ban, now) else None


def mute_in_force(moderation: Moderation | None, now: datetime) -> Sanction | None:
    mute = moderation.mute if moderation is not None else None
    return mute if in_force(mute, now) else None


def until_text(until: datetime | None) -> str | None:
    """`until` on the wire: ISO-8601 UTC with milliseconds, or None (until lifted)."""
    return iso(until) if until is not None else None


def connection_mute(sanction: Sanction | None) -> Mute | None:
    """What a connection keeps of a mute in force, so `chat` checks it without a query."""
    if sanction is None:
        return None
    ends = sanction.until.timestamp() if sanction.until is not None else math.inf
    return Mute(ends, until_text(sanction.until))


def parse_sanction_duration(text: object) -> timedelta | None:
    """`"24h"`, `"7d"`, `"30m"` … (the configuration's durations), between a minute and ten
    years; None (JSON null): until lifted. Raises InvalidMessage."""
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > 16:
        raise InvalidMessage("duration: a duration like 24h or 7d, or null")
    try:
        seconds = parse_duration("duration", text)
    except ConfigError:
        raise InvalidMessage("duration: a duration like 24h or 7d, or null") from None
    duration = timedelta(seconds=seconds)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise InvalidMessage("duration: between 1m and 3650d, or null for until lifted")
    return duration


def check_reason(reason: object, name: str = "reason") -> str:
    """The trimmed reason (3-200 characters). Raises InvalidMessage."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not MIN_REASON <= len(text) <= MAX_REASON:
        raise InvalidMessage(f"{name}: {MIN_REASON} to {MAX_REASON} characters")
    return text


def check_note(note: object) -> str | None:
    """The trimmed note (at most 1000 characters; empty: none). Raises InvalidMessage."""
    if note is None:
        return None
    if not isinstance(note, str) or len(note.strip()) > MAX_NOTE:
        raise InvalidMessage(f"note: at most {MAX_NOTE} characters")
    return note.strip() or None
