"""The chaos tests' long forms (`chaos_long`: more clients, longer load) run only when asked
for with `-m chaos_long`; the default run has the short forms."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "chaos_long" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="long form: run with -m chaos_long")
    for item in items:
        if item.get_closest_marker("chaos_long") is not None:
            item.add_marker(skip)
