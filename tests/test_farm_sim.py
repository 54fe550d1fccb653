"""A small run of the attacker's playbook (scripts/farm_sim.py) against the test session's
database: every defence meets the attack, the target gains no more than one honest player
could, and `ledger verify` is clean after it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT


@pytest.mark.timeout(300)
def test_a_small_farm_meets_every_defence_and_leaves_the_ledger_clean(
    mongo_uri: str, tmp_path: Path
) -> None:
    out = tmp_path / "farm.json"
    command = [
        sys.executable, str(ROOT / "scripts" / "farm_sim.py"), "--wallets", "10", "--days", "3",
        "--mongodb-uri", mongo_uri, "--set", "NEW_ACCOUNTS_PER_IP_PER_DAY=6",
        # Fewer open sockets than a day's wallets: the farm keeps few open, as it must
        # against the default of 20 with its 200 wallets.
        "--set", "MAX_CONNECTIONS_PER_IP=4", "--json", str(out),
    ]  # fmt: skip

    done = subprocess.run(command, capture_output=True, text=True, timeout=280, cwd=ROOT)

    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    steps = figures["steps"]
    print("steps:", json.dumps(steps, sort_keys=True))  # shown when an assertion fails
    assert figures["clocked"] and figures["ledger_ok"]
    assert steps["sign_up:rate_limited"] >= 1  # six new wallets a day, no more
    assert steps["migrate_biggest:pending_review"] == 1  # the forged save is held
    assert steps["migrate_under_review:applied"] >= 9  # ... so the farm asks for less
    assert steps["settled_refund:forfeit_at_once"] == 1  # a wager forfeited at once: refunded
    assert steps["challenge:wager_locked"] >= 1 and steps["challenge:wager_limit"] >= 1
    days = figures["by_day"]
    assert days[0]["target_from_wagers"] == 0  # no wager moved on the first day
    # Matches against the computer pay each wallet at most the day's cap against it (100).
    assert steps["computer_match:computer_cap"] >= 1 and steps["computer_match:paid"] >= 5
    wallet_days = sum(day["wallets"] for day in days) + len(days)  # the target plays too
    assert 0 < days[-1]["farm_sources"]["match_reward"] <= 100 * wallet_days
    assert days[-1]["target_coins"] <= figures["honest_bound_all"]
    assert "target within one honest player's bound: yes" in done.stdout
