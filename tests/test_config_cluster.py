"""The many-nodes settings: Redis timeouts and backoff, the publish queue, the tick lead,
and a NODE_ID fit to name a Redis channel."""

from __future__ import annotations

import pytest

from clubpengu.config import ConfigError, load_settings


def test_many_nodes_defaults() -> None:
    settings = load_settings({}, dotenv_path=None)

    assert settings.node_id == "node-1"
    assert settings.redis_url is None
    assert settings.redis_timeout == 2.0
    assert (settings.redis_reconnect_min, settings.redis_reconnect_max) == (0.1, 5.0)
    assert settings.redis_publish_queue == 10_000
    assert settings.tick_lead == 0.02


def test_many_nodes_values_are_parsed() -> None:
    settings = load_settings(
        {
            "NODE_ID": "eu-west.app_3",
            "REDIS_URL": "redis://cache:6379/2",
            "REDIS_TIMEOUT": "500ms",
            "REDIS_RECONNECT_MIN": "50ms",
            "REDIS_RECONNECT_MAX": "2s",
            "REDIS_PUBLISH_QUEUE": "500",
            "TICK_LEAD": "0",
        },
        dotenv_path=None,
    )

    assert settings.node_id == "eu-west.app_3"
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.redis_timeout == 0.5
    assert (settings.redis_reconnect_min, settings.redis_reconnect_max) == (0.05, 2.0)
    assert settings.redis_publish_queue == 500
    assert settings.tick_lead == 0


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"NODE_ID": "node 1"}, "NODE_ID"),
        ({"NODE_ID": "n" * 65}, "NODE_ID"),
        ({"REDIS_TIMEOUT": "0s"}, "REDIS_TIMEOUT"),
        ({"REDIS_RECONNECT_MIN": "10s", "REDIS_RECONNECT_MAX": "1s"}, "REDIS_RECONNECT_MIN"),
        ({"REDIS_PUBLISH_QUEUE": "10"}, "REDIS_PUBLISH_QUEUE"),
        ({"TICK_LEAD": "60ms"}, "TICK_LEAD"),  # more than half of a 10 Hz tick
        ({"TICK_RATE": "50", "TICK_LEAD": "20ms"}, "TICK_LEAD"),
    ],
)
def test_a_bad_many_nodes_value_fails_naming_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env, dotenv_path=None)

    assert str(error.value).startswith(f"{name}:")
    assert "\n" not in str(error.value)
