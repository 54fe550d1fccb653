"""The realtime world's settings: defaults, rates, durations, the rooms file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from clubpengu.config import (
    DEFAULT_CHAT_FILTER_WORDS,
    ConfigError,
    Rate,
    filter_words,
    load_settings,
)
from tests.support import CLUBPENGU


def test_realtime_defaults_follow_the_issue() -> None:
    settings = load_settings({}, dotenv_path=None)

    assert settings.tick_rate == 10
    assert settings.rooms_file is None
    assert settings.chat_filter_words == DEFAULT_CHAT_FILTER_WORDS
    assert settings.move_rate == Rate(20, 1.0)
    assert settings.chat_rate == Rate(5, 5.0)
    assert settings.message_rate == Rate(30, 1.0)
    assert settings.abuse_seconds == settings.slow_client_seconds == 5
    assert (settings.ws_ping_interval, settings.ws_idle_timeout) == (20, 60)
    assert settings.reconnect_grace == 30
    assert settings.connection_log_ttl == 90 * 86400
    assert settings.ws_compression is False
    assert settings.tick_phases == 10
    assert settings.room_capacity is None
    assert settings.instance_close_grace == 15


def test_realtime_values_are_parsed() -> None:
    settings = load_settings(
        {
            "TICK_RATE": "20",
            "CLUBPENGU_ROOMS": "/etc/pengu/rooms.json",
            "CHAT_FILTER_WORDS": "Grr, snowball fight",
            "MOVE_RATE": "30/s",
            "CHAT_RATE": "10/30s",
            "MESSAGE_RATE": "0",
            "RECONNECT_GRACE": "0",
            "WS_PING_INTERVAL": "500ms",
            "WS_IDLE_TIMEOUT": "2s",
            "CONNECTION_LOG_TTL": "30d",
            "TICK_PHASES": "4",
            "ROOM_CAPACITY": "20",
            "INSTANCE_CLOSE_GRACE": "0",
        },
        dotenv_path=None,
    )

    assert settings.tick_rate == 20
    assert settings.rooms_file == Path("/etc/pengu/rooms.json")
    assert settings.chat_filter_words == ("grr", "snowball fight")
    assert settings.move_rate == Rate(30, 1.0)
    assert settings.chat_rate == Rate(10, 30.0)
    assert not settings.message_rate.enabled
    assert settings.reconnect_grace == 0
    assert (settings.ws_ping_interval, settings.ws_idle_timeout) == (0.5, 2)
    assert settings.connection_log_ttl == 30 * 86400
    assert (settings.tick_phases, settings.room_capacity) == (4, 20)
    assert settings.instance_close_grace == 0


def test_an_empty_chat_filter_word_list_turns_the_filter_off() -> None:
    assert load_settings({"CHAT_FILTER_WORDS": ""}, dotenv_path=None).chat_filter_words == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TICK_RATE", "0"),
        ("TICK_RATE", "fast"),
        ("MOVE_RATE", "20"),
        ("CHAT_RATE", "5 per 5s"),
        ("MESSAGE_RATE", "5/0s"),
        ("SLOW_CLIENT_SECONDS", "0"),
        ("RECONNECT_GRACE", "-1"),
        ("CHAT_FILTER_WORDS", "ok,<script>"),
        ("OUTGOING_QUEUE_LIMIT", "2"),
        ("WS_COMPRESSION", "maybe"),
        ("TICK_PHASES", "0"),
        ("ROOM_CAPACITY", "0"),
        ("ROOM_CAPACITY", "twenty"),
        ("ROOM_CAPACITY", "10001"),
        ("INSTANCE_CLOSE_GRACE", "soon"),
    ],
)
def test_an_invalid_realtime_value_fails_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({name: value}, dotenv_path=None)

    assert str(error.value).startswith(f"{name}:")


def test_the_idle_timeout_must_be_longer_than_the_ping_interval() -> None:
    with pytest.raises(ConfigError, match=r"^WS_IDLE_TIMEOUT:"):
        load_settings({"WS_PING_INTERVAL": "30s", "WS_IDLE_TIMEOUT": "30s"}, dotenv_path=None)


def test_serve_with_a_bad_rooms_file_exits_with_one_line(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms.json"
    bad = {"id": "yard", "name": "Yard", "width": 100, "height": 100, "spawn": [5, 5],
           "capacity": 0, "speed": 10}  # fmt: skip
    rooms.write_text(json.dumps({"default": "yard", "rooms": [bad]}))

    result = subprocess.run(
        [str(CLUBPENGU), "serve", "--data-dir", str(tmp_path / "data")],
        env={"PATH": "/usr/bin:/bin", "CLUBPENGU_ROOMS": str(rooms)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"clubpengu: configuration error: CLUBPENGU_ROOMS: {rooms}: ")
    assert "rooms.0.capacity" in line


def test_serve_with_a_bad_room_capacity_exits_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CLUBPENGU), "serve", "--data-dir", str(tmp_path / "data")],
        env={"PATH": "/usr/bin:/bin", "ROOM_CAPACITY": "-5"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert (
        line == "clubpengu: configuration error: ROOM_CAPACITY: must be between 1 and 10000, got -5"
    )


def test_the_filter_list_adds_the_lines_of_chat_filter_file(tmp_path: Path) -> None:
    listed = tmp_path / "words.txt"
    listed.write_text("# the moderators' list\nGrumpy\n\nsnow   cone  # a phrase\ngrumpy\n")

    settings = load_settings(
        {"CHAT_FILTER_WORDS": "grr", "CHAT_FILTER_FILE": str(listed)}, dotenv_path=None
    )

    assert filter_words(settings) == ("grr", "grumpy", "snow   cone")


@pytest.mark.parametrize("content", ["ok\nnot<allowed>\n", None])
def test_a_bad_chat_filter_file_names_the_file_and_line(
    tmp_path: Path, content: str | None
) -> None:
    listed = tmp_path / "words.txt"
    if content is not None:
        listed.write_text(content)
    settings = load_settings({"CHAT_FILTER_FILE": str(listed)}, dotenv_path=None)

    with pytest.raises(ConfigError) as refused:
        filter_words(settings)

    assert str(refused.value).startswith("CHAT_FILTER_FILE: ")
    assert ("words.txt line 2" in str(refused.value)) == (content is not None)
