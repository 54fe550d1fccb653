"""Each setting is declared once, on its field of Settings, and the configuration table
of the documentation lists exactly the declared variables."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from clubpengu.config import ConfigError, Settings, declared_settings, load_settings
from tests.support import ROOT

VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def _configuration_table() -> tuple[Path, set[str]]:
    """The variables named in the first column of docs/configuration.md's settings tables
    (those headed `| variable | default | meaning |`; the page's table of variables that
    only compose and the tests read is headed `| variable | read by | meaning |`)."""
    page = ROOT / "docs" / "configuration.md"
    names: set[str] = set()
    in_settings_table = False
    for line in page.read_text().splitlines():
        if not line.startswith("|"):
            in_settings_table = False
            continue
        cells = line.split("|")
        if cells[1].strip() == "variable":
            in_settings_table = cells[2].strip() == "default"
        elif in_settings_table:
            names.update(VARIABLE.findall(cells[1]))
    return page, names


def test_every_declared_setting_is_in_the_configuration_table_and_every_row_is_declared() -> None:
    declared = {setting.variable for setting in declared_settings().values()}

    page, documented = _configuration_table()

    assert declared - documented == set(), f"declared but missing from {page.name}"
    assert documented - declared == set(), f"in {page.name} but not declared"


def test_every_field_of_settings_is_declared_once_with_a_one_line_meaning() -> None:
    declared = declared_settings()
    variables = [setting.variable for setting in declared.values()]

    assert list(declared) == [field.name for field in dataclasses.fields(Settings)]
    assert len(variables) == len(set(variables))
    for setting in declared.values():
        assert setting.meaning.strip() and "\n" not in setting.meaning, setting.variable


def test_a_declared_default_is_what_an_unset_variable_gives() -> None:
    loaded = load_settings({}, dotenv_path=None)

    assert loaded == Settings()


def test_a_blank_variable_gives_its_default_except_a_flag_and_the_chat_filter() -> None:
    blank = {setting.variable: " " for setting in declared_settings().values()}

    loaded = load_settings(blank, dotenv_path=None)

    flags_off = {
        "require_wallet_auth": False, "stats_batching": False, "metrics_enabled": False,
        "migration_enabled": False,
    }  # fmt: skip
    assert loaded == Settings(chat_filter_words=(), **flags_off)


def test_a_setting_built_by_hand_keeps_its_keyword_and_its_secret_out_of_the_repr() -> None:
    settings = Settings(jwt_secret="s" * 40, db_app_password="hunter2", port=9000)

    assert settings.port == 9000
    assert "s" * 40 not in repr(settings) and "hunter2" not in repr(settings)
    assert settings.with_overrides(port=9001).port == 9001


def test_the_rules_between_settings_are_checked_after_each_value() -> None:
    env = {"REDIS_RECONNECT_MIN": "2s", "REDIS_RECONNECT_MAX": "1s"}

    with pytest.raises(ConfigError) as error:
        load_settings(env, dotenv_path=None)

    assert str(error.value) == "REDIS_RECONNECT_MIN: must not exceed REDIS_RECONNECT_MAX"
