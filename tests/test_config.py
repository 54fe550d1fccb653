"""Configuration: defaults, fail-fast errors that name the variable, production checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from clubpengu.config import ConfigError, ensure_jwt_secret, load_settings, parse_duration
from tests.support import CLUBPENGU

WALLET = "11111111111111111111111111111111"  # base58 of 32 zero bytes


def test_defaults_follow_the_seed() -> None:
    settings = load_settings({}, dotenv_path=None)

    assert settings.mongodb_uri is None
    assert settings.mongodb_db == "clubpengu"
    assert (settings.mongo_max_pool_size, settings.mongo_min_pool_size) == (100, 10)
    assert settings.mongo_server_selection_timeout_ms == 5000
    assert settings.mongo_socket_timeout_ms == 45000
    assert settings.jwt_expiry_seconds == 7 * 86400
    assert settings.data_dir == Path("./var/mongo")
    assert settings.redis_url is None
    assert settings.require_wallet_auth and settings.stats_batching
    assert settings.max_frame_bytes == 16 * 1024
    assert settings.daily_bonus_coins == 25


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MONGODB_MAX_POOL_SIZE", "lots"),
        ("MONGODB_MIN_POOL_SIZE", "-1"),
        ("JWT_EXPIRY", "forever"),
        ("REQUIRE_WALLET_AUTH", "maybe"),
        ("STATS_BATCHING", "2"),
        ("STATS_FLUSH_INTERVAL", "0s"),
        ("MONGODB_URI", "http://localhost"),
        ("REDIS_URL", "localhost:6379"),
        ("ADMIN_WALLETS", "not-a-wallet"),
        ("CLUBPENGU_ENV", "staging"),
        ("TRUSTED_PROXIES", "10.0.0.300"),
        ("PORT", "70000"),
        ("DAILY_BONUS_COINS", "-1"),
        ("MATCH_CACHE_SIZE", "-1"),
        ("MATCH_CACHE_SIZE", "many"),
        ("MODERATOR_WALLETS", "mod1"),
        ("REPORT_RATE", "five an hour"),
        ("CHAT_LOG_RETENTION", "0"),
        ("JWT_EXPIRY", "99999999999999999999d"),
        ("JWT_EXPIRY", "36501d"),
        ("CHALLENGE_TTL", "9" * 5000),
        ("MOVE_RATE", "9" * 5000 + "/s"),
    ],
)
def test_an_invalid_value_fails_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({name: value}, dotenv_path=None)

    assert str(error.value).startswith(f"{name}:")
    assert "\n" not in str(error.value)


def test_values_are_parsed() -> None:
    settings = load_settings(
        {
            "MONGODB_URI": "mongodb://db:27017",
            "JWT_EXPIRY": "12h",
            "ADMIN_WALLETS": f" {WALLET} ,",
            "REQUIRE_WALLET_AUTH": "false",
            "TRUSTED_PROXIES": "10.0.0.0/8, ::1",
        },
        dotenv_path=None,
    )

    assert settings.mongodb_uri == "mongodb://db:27017"
    assert settings.jwt_expiry_seconds == 12 * 3600
    assert settings.admin_wallets == frozenset({WALLET})
    assert settings.require_wallet_auth is False
    assert len(settings.trusted_proxies) == 2


def test_the_match_cache_size_defaults_to_10000_and_0_turns_it_off() -> None:
    assert load_settings({}, dotenv_path=None).match_cache_size == 10_000
    assert load_settings({"MATCH_CACHE_SIZE": "0"}, dotenv_path=None).match_cache_size == 0


def test_trust_and_safety_settings_default_to_5_reports_an_hour_and_30_days_of_chat() -> None:
    default = load_settings({}, dotenv_path=None)
    changed = load_settings(
        {"REPORT_RATE": "0", "CHAT_LOG_RETENTION": "7d", "MODERATOR_WALLETS": WALLET},
        dotenv_path=None,
    )

    assert (default.report_rate.count, default.report_rate.seconds) == (5, 3600)
    assert default.chat_log_retention == 30 * 86400 and default.moderator_wallets == frozenset()
    assert not changed.report_rate.enabled and changed.chat_log_retention == 7 * 86400
    assert changed.moderator_wallets == frozenset({WALLET})


def test_stats_flush_interval_is_a_duration_defaulting_to_30_seconds() -> None:
    default = load_settings({}, dotenv_path=None)
    changed = load_settings({"STATS_FLUSH_INTERVAL": "5m"}, dotenv_path=None)

    assert default.stats_flush_interval_seconds == 30
    assert changed.stats_flush_interval_seconds == 300


def test_durations_accept_units() -> None:
    assert parse_duration("X", "250ms") == 0.25
    assert parse_duration("X", "7d") == 7 * 86400
    assert parse_duration("X", "30") == 30


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nexport MONGODB_DB='fromfile'\nNODE_ID=file-node\n")

    settings = load_settings({"NODE_ID": "env-node"}, dotenv_path=dotenv)

    assert settings.mongodb_db == "fromfile"
    assert settings.node_id == "env-node"


def test_production_refuses_the_embedded_database() -> None:
    settings = load_settings(
        {"CLUBPENGU_ENV": "production", "JWT_SECRET": "s" * 40}, dotenv_path=None
    )

    with pytest.raises(ConfigError, match=r"^MONGODB_URI:"):
        settings.check_production()


def test_production_refuses_a_short_secret() -> None:
    settings = load_settings(
        {"CLUBPENGU_ENV": "production", "MONGODB_URI": "mongodb://db", "JWT_SECRET": "short"},
        dotenv_path=None,
    )

    with pytest.raises(ConfigError, match=r"^JWT_SECRET:"):
        settings.check_production()


def test_a_jwt_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = load_settings({"CLUBPENGU_DATA_DIR": str(tmp_path)}, dotenv_path=None)

    first = ensure_jwt_secret(settings)
    second = ensure_jwt_secret(settings)

    assert len(first.jwt_secret) >= 32
    assert first.jwt_secret == second.jwt_secret
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0


def test_serve_with_a_bad_variable_exits_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CLUBPENGU), "serve", "--data-dir", str(tmp_path)],
        env={"PATH": "/usr/bin:/bin", "MONGODB_MAX_POOL_SIZE": "many"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "clubpengu: configuration error: MONGODB_MAX_POOL_SIZE: expected an integer, got 'many'"
    ]


def test_serve_in_production_refuses_the_embedded_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CLUBPENGU), "serve", "--data-dir", str(tmp_path)],
        env={"PATH": "/usr/bin:/bin", "CLUBPENGU_ENV": "production", "JWT_SECRET": "s" * 40},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "MONGODB_URI: must be set when CLUBPENGU_ENV=production" in result.stderr


@pytest.mark.parametrize(
    ("alias", "field"),
    [("FEATURE_REQUIRE_AUTH", "require_wallet_auth"), ("FEATURE_STATS_BATCH", "stats_batching")],
)
def test_the_old_server_s_flag_names_are_read_as_ours_and_logged(
    alias: str, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings({alias: "false"}, dotenv_path=None)

    assert getattr(settings, field) is False
    assert any(alias in record.getMessage() for record in caplog.records)


def test_a_flag_and_its_alias_set_alike_is_fine_and_set_apart_is_an_error() -> None:
    same = load_settings({"STATS_BATCHING": "0", "FEATURE_STATS_BATCH": "false"}, dotenv_path=None)
    assert same.stats_batching is False

    with pytest.raises(ConfigError, match="STATS_BATCHING and FEATURE_STATS_BATCH are both set"):
        load_settings({"STATS_BATCHING": "true", "FEATURE_STATS_BATCH": "false"}, dotenv_path=None)
    with pytest.raises(ConfigError, match="FEATURE_REQUIRE_AUTH: expected"):
        load_settings({"FEATURE_REQUIRE_AUTH": "maybe"}, dotenv_path=None)


def test_match_rewards_default_to_the_games_and_may_be_set_per_game_or_for_all() -> None:
    from clubpengu.parts import reward_rules

    default = reward_rules(load_settings({}, dotenv_path=None))
    per_game = reward_rules(
        load_settings(
            {"MATCH_REWARD_WIN": " connect_four=25 , tictactoe=12", "MATCH_REWARD_DRAW": "0"},
            dotenv_path=None,
        )
    )

    assert dict(default.win) == {"tictactoe": 10, "connect_four": 20, "card_jitsu": 15}
    assert dict(default.draw) == {"tictactoe": 5, "connect_four": 10, "card_jitsu": 7}
    assert (default.daily_cap, default.pair_daily, default.computer_daily_cap) == (300, 5, 100)
    assert dict(per_game.win) == {"tictactoe": 12, "connect_four": 25, "card_jitsu": 15}
    assert dict(per_game.draw) == {"tictactoe": 0, "connect_four": 0, "card_jitsu": 0}


@pytest.mark.parametrize(
    "value", ["chess=10", "tictactoe=-1", "tictactoe", "tictactoe=1,tictactoe=2", "10001", "x=1,"]
)
def test_a_bad_match_reward_fails_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="MATCH_REWARD_WIN"):
        load_settings({"MATCH_REWARD_WIN": value}, dotenv_path=None)
