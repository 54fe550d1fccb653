"""The pure rules of bans and mutes: in force or not, durations, reasons, notes, `until`."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from clubpengu.errors import InvalidMessage
from clubpengu.models import Moderation, Sanction
from clubpengu.services.sanctions import (
    ban_in_force,
    check_note,
    check_reason,
    connection_mute,
    in_force,
    mute_in_force,
    parse_sanction_duration,
    until_text,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def sanction(until: datetime | None) -> Sanction:
    return Sanction(until=until, reason="spam", by="mod", at=NOW - timedelta(hours=1))


@pytest.mark.parametrize(
    ("until", "expected"),
    [(None, True), (NOW + timedelta(seconds=1), True), (NOW, False),
     (NOW - timedelta(days=1), False)],
)  # fmt: skip
def test_a_sanction_is_in_force_until_its_end_and_one_without_an_end_until_lifted(
    until: datetime | None, expected: bool
) -> None:
    assert in_force(sanction(until), NOW) is expected


def test_no_moderation_is_no_ban_and_no_mute() -> None:
    expired = Moderation(ban=sanction(NOW - timedelta(seconds=1)), mute=sanction(None))

    assert ban_in_force(None, NOW) is None and mute_in_force(None, NOW) is None
    assert ban_in_force(expired, NOW) is None
    assert mute_in_force(expired, NOW) == expired.mute


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("1m", timedelta(minutes=1)),
     ("3650d", timedelta(days=3650)), (None, None)],
)  # fmt: skip
def test_durations_are_the_configuration_s_and_null_is_until_lifted(
    text: str | None, expected: timedelta | None
) -> None:
    assert parse_sanction_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0", "30s", "3651d", "forever", "1y", 24, "9" * 40, True])
def test_a_duration_outside_a_minute_to_ten_years_or_not_a_duration_is_refused(
    text: object,
) -> None:
    with pytest.raises(InvalidMessage):
        parse_sanction_duration(text)


@pytest.mark.parametrize("reason", ["", "  ", "ab", "x" * 201, None, 5])
def test_a_reason_is_3_to_200_characters(reason: object) -> None:
    with pytest.raises(InvalidMessage):
        check_reason(reason)


def test_a_reason_and_a_note_are_trimmed_and_an_empty_note_is_none() -> None:
    assert check_reason("  spam  ") == "spam"
    assert check_note("  see ticket 9 ") == "see ticket 9"
    assert check_note("   ") is None and check_note(None) is None
    with pytest.raises(InvalidMessage):
        check_note("x" * 1001)


def test_until_is_iso_with_milliseconds_or_null() -> None:
    assert until_text(NOW) == "2026-06-01T12:00:00.000Z"
    assert until_text(None) is None


def test_a_connection_keeps_a_mute_s_end_as_a_timestamp_and_forever_as_infinity() -> None:
    timed = connection_mute(sanction(NOW))
    forever = connection_mute(sanction(None))

    assert timed is not None and timed.ends == NOW.timestamp()
    assert timed.until == "2026-06-01T12:00:00.000Z"
    assert forever is not None and forever.ends == math.inf and forever.until is None
    assert forever.active(1e12) and not timed.active(NOW.timestamp())
    assert connection_mute(None) is None
