"""A match's turn timer that fires while the database is out of reach runs again later:
the idle player still forfeits once the database is back, without anyone signing in again
and long before the sweeper would settle the match as abandoned."""

from __future__ import annotations

import signal
from pathlib import Path

from clubpengu.db import EmbeddedDatabase
from tests.conftest import TEST_SECRET
from tests.support import Wallet, enter, start_serve, stop_serve, wait_healthy
from tests.waiting import eventually


async def test_a_turn_timeout_during_a_database_outage_settles_the_match_once_it_is_back(
    tmp_path: Path,
) -> None:
    database = EmbeddedDatabase(tmp_path / "db")
    env = {
        "CLUBPENGU_ENV": "test",
        "MONGODB_URI": database.start(),
        "MONGODB_DB": "timer_outage_test",
        "MONGODB_SERVER_SELECTION_TIMEOUT_MS": "1000",
        "JWT_SECRET": TEST_SECRET,
        "DAILY_BONUS_COINS": "0",
        "MATCH_TURN_SECONDS": "2s",
        "MATCH_ABANDON_AFTER": "1h",  # the sweeper must not be what settles it
    }
    (tmp_path / "data").mkdir()
    serve = start_serve(tmp_path / "data", env)
    try:
        wait_healthy(serve)
        url = f"ws://127.0.0.1:{serve.port}/ws"
        challenger, _, _ = await enter(url, Wallet(), room="dojo")
        target, _, joined = await enter(url, Wallet(), room="dojo")
        sent = await challenger.call({"type": "challenge", "game": "tictactoe", "wager": 0,
                                      "targetPlayerId": joined["playerId"]})  # fmt: skip
        assert sent["type"] == "challenge_sent", sent
        await target.recv_type("challenge")
        started = await target.call({"type": "challenge_accept",
                                     "challengeId": sent["challengeId"]})  # fmt: skip
        assert started["type"] == "match_start", started

        assert database.process is not None
        database.process.send_signal(signal.SIGKILL)  # the turn timer fires 2 s later
        database.process.wait()
        database.process = None
        await challenger.call({"type": "ping"}, timeout=10)  # the server is still there
        database = EmbeddedDatabase(tmp_path / "db", port=database.port)
        # The timer fired and found no database.
        await eventually(lambda: RETRYING in serve.log(), "the retry logged", timeout=30, every=0.1)
        database.start()

        ends = [await c.recv_type("match_end", timeout=30) for c in (challenger, target)]
        await challenger.close()
        await target.close()
    finally:
        stop_serve(serve)
        database.stop()

    assert {e["reason"] for e in ends} == {"timeout"}
    assert sorted(e["result"] for e in ends) == ["loss", "win"]
    assert "background task failed" not in serve.log()


RETRYING = "match timer: database unavailable; trying again"
