"""`kill -9` of the server in the middle of matches and of a stats flush, then a restart on
the same database (docs/testing.md#chaos-tests).

Pairs of players play wagered tic-tac-toe (both wagers in escrow, two moves made) and walk
(stats counters queued). The server is killed (SIGKILL) while a stats flush is being
written: a `failCommand` fail point holds the server's `update` commands at the database
(then fails them), and the kill is sent once the log says the flush started, so the kill
lands inside the flush on every run, however slow the machine. Then `clubpengu serve`
starts again on the same database:

- matches go on by the documented rules: players who sign in again get `match_state` and
  play to the end (a win, a draw), a player who gives up forfeits, and a match nobody
  comes back to is settled `abandoned` by the sweeper; none stays active. A deciding move
  in flight at the kill is not applied (its write and its settlement are one
  transaction): the match resumes before it and the move is made again;
- no escrow is stranded: each match's ledger entries are its two `match_escrow` debits
  and either one `match_payout` of both wagers or two `match_refund`s, summing to zero;
- stats lose at most what was queued since the last completed flush: each player's
  stored `world.steps` is at least what was flushed before the kill and at most all the
  acknowledged moves;
- `clubpengu ledger verify` is clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo import MongoClient

from tests.chaos.support import (
    OwnedDatabase,
    Player,
    enter_all,
    ledger_verify,
    log_messages,
    serve_env,
)
from tests.support import ServeProcess, Wallet, http_token, start_serve, stop_serve, wait_healthy
from tests.waiting import eventually

DATABASE = "clubpengu_chaos_kill"
NODE = "chaos-node"
WAGER, FUNDS = 40, 100
OPENING = [0, 3]  # seat 0, seat 1: two moves made before the kill
TO_WIN = [1, 4, 2]  # seat 0 completes the top row
TO_DRAW = [1, 2, 4, 7, 5, 8, 6]  # a full board, no line
# What happens to each match: played to a win or a draw after the restart, given up,
# abandoned, or decided by a move in flight when the server is killed (its write and
# settlement never reach the database, so it is sent again after the restart).
ENDINGS = ("win", "draw", "forfeit", "abandoned", "decided_at_kill")


@dataclass(frozen=True)
class Scale:
    rounds: int  # matches of each ending
    steps_before: int  # acknowledged moves per player, flushed before the kill
    steps_during: int  # acknowledged moves per player after the fail point is armed
    # The turn timer must not fire between the opening and the kill (normally a second or
    # two apart), nor the sweeper settle a match before its players are back after the
    # restart (normally 2-3 s after the opening): generous margins for a busy machine,
    # which the abandoned matches wait out (settled turn + abandon_after after the opening).
    # On a two-core machine running the whole suite, waiting for a flush to be in flight
    # took more than 12 s once, and the turn timer ended a match before the kill.
    turn: str
    abandon_after: str


SHORT = Scale(rounds=1, steps_before=10, steps_during=10, turn="20s", abandon_after="3s")
LONG = Scale(rounds=5, steps_before=50, steps_during=100, turn="30s", abandon_after="5s")


@dataclass
class Pair:
    ending: str
    players: list[Player]  # by seat
    match_id: str = ""
    back: list[Player] = field(default_factory=list)  # the same wallets after the restart


@dataclass
class Site:
    directory: Path
    database: OwnedDatabase
    env: dict[str, str]
    admin: Wallet
    serve: ServeProcess | None = None

    @property
    def url(self) -> str:
        assert self.serve is not None
        return self.serve.url

    @property
    def ws_url(self) -> str:
        assert self.serve is not None
        return f"ws://127.0.0.1:{self.serve.port}/ws"

    def start(self) -> ServeProcess:
        """`clubpengu serve` on the site's database and data directory (a new port, so
        each run keeps its own log)."""
        self.serve = start_serve(self.directory / "data", self.env)
        wait_healthy(self.serve)
        return self.serve


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    database = OwnedDatabase(tmp_path / "db", test_commands=True)  # for the fail point
    database.start()
    admin = Wallet()
    env = serve_env(
        database.uri, DATABASE, admin, NODE_ID=NODE, STATS_FLUSH_INTERVAL="300ms",
        MOVE_RATE="0", MATCH_SWEEP_INTERVAL="300ms",
    )  # fmt: skip
    (tmp_path / "data").mkdir()
    site = Site(tmp_path, database, env, admin)
    try:
        yield site
    finally:
        if site.serve is not None:
            stop_serve(site.serve)
        database.stop()


@contextlib.contextmanager
def updates_held(uri: str) -> Iterator[None]:
    """Hold every `update` command of the server's client at the database for 10 s and
    then fail it: a flush started now stays in flight (and is never applied), so a kill
    sent meanwhile lands inside it."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(uri) as client:
        client.admin.command(
            {"configureFailPoint": "failCommand", "mode": "alwaysOn",
             "data": {"failCommands": ["update"], "appName": f"clubpengu/{NODE}",
                      "blockConnection": True, "blockTimeMS": 10_000, "errorCode": 11601}}
        )  # fmt: skip
        try:
            yield
        finally:
            client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})


async def _walk(player: Player, steps: int) -> int:
    """`steps` acknowledged moves; each is one `world.steps` increment queued."""
    acknowledged = 0
    for step in range(steps):
        reply = await player.call({"type": "move", "x": 300 + step % 20, "y": 300}, timeout=30)
        acknowledged += reply["type"] == "ok"
    return acknowledged


async def _start_match(pair: Pair) -> None:
    challenger, target = pair.players
    sent = await challenger.call(
        {"type": "challenge", "targetPlayerId": target.player_id, "game": "tictactoe",
         "wager": WAGER}
    )  # fmt: skip
    assert sent["type"] == "challenge_sent", sent
    started = await target.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    assert started["type"] == "match_start", started
    pair.match_id = started["matchId"]
    if started["seat"] == 1:
        pair.players = [challenger, target]
    else:
        pair.players = [target, challenger]


async def _open(pair: Pair) -> None:
    await _start_match(pair)
    await _play(pair.players, pair.match_id, _opening(pair), first=0)


def _opening(pair: Pair) -> list[int]:
    """The moves made before the kill (the decided_at_kill match is one move from a win)."""
    return OPENING + TO_WIN[:-1] if pair.ending == "decided_at_kill" else OPENING


def _move(match_id: str, cell: int) -> dict[str, Any]:
    return {"type": "match_move", "matchId": match_id, "move": {"cell": cell}}


async def _play(seats: list[Player], match_id: str, cells: list[int], first: int) -> None:
    for turn, cell in enumerate(cells):
        reply = await seats[(first + turn) % 2].call(_move(match_id, cell))
        assert reply["type"] in {"match_state", "match_end"}, reply


def _steps(client: MongoClient[dict[str, Any]], wallets: list[str]) -> dict[str, int]:
    users = client[DATABASE]["users"].find(
        {"walletAddress": {"$in": wallets}}, {"walletAddress": 1, "stats.world.steps": 1}
    )
    return {
        u["walletAddress"]: int(u.get("stats", {}).get("world", {}).get("steps", 0)) for u in users
    }


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "scale",
    [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.chaos_long)],
)
async def test_kill_9_mid_match_and_mid_flush_then_restart(site: Site, scale: Scale) -> None:
    site.env.update(MATCH_TURN_SECONDS=scale.turn, MATCH_ABANDON_AFTER=scale.abandon_after)
    first = site.start()
    token = await http_token(site.url, site.admin)
    pairs = [Pair(ending, [Player(site.ws_url), Player(site.ws_url)])
             for ending in ENDINGS for _ in range(scale.rounds)]  # fmt: skip
    players = [p for pair in pairs for p in pair.players]
    wallets = [p.wallet.address for p in players]
    await enter_all(players, lambda _: "town")
    await _fund(site.url, token, wallets)
    mongo: MongoClient[dict[str, Any]] = MongoClient(site.database.uri)

    # Counters flushed before the kill: wait until the database has them all.
    steps = await asyncio.gather(*(_walk(p, scale.steps_before) for p in players))
    walked = dict(zip(wallets, steps, strict=True))
    await eventually(lambda: _steps(mongo, wallets) == walked, every=0.1, timeout=30)
    flushed = _steps(mongo, wallets)
    # Matches in progress: wagers in escrow, the opening played.
    await asyncio.gather(*(_open(pair) for pair in pairs))

    with updates_held(site.database.uri):
        mark = len(log_messages(first))
        for pair in pairs:
            if pair.ending == "decided_at_kill":  # no reply will come: the server dies
                await pair.players[0].send(_move(pair.match_id, TO_WIN[-1]))
        more = await asyncio.gather(*(_walk(p, scale.steps_during) for p in players))
        for wallet, steps in zip(wallets, more, strict=True):
            walked[wallet] += steps
        # A flush that started after the fail point was armed, still in flight (a long
        # walk may outlast a hold: that flush fails, keeps its batch and is retried).
        await eventually(functools.partial(_flush_in_flight, first, mark), timeout=60)
        before_kill = _steps(mongo, wallets)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(30)
    in_flight = _flush_in_flight(first, mark)
    for player in players:
        await player.close()

    second = site.start()
    after_restart = _steps(mongo, wallets)
    await asyncio.gather(*(_finish(site, pair) for pair in pairs))
    await eventually(lambda: _active(mongo) == 0, every=0.1, timeout=60)
    matches = {str(m["_id"]): m for m in mongo[DATABASE]["matches"].find()}
    ledger = _match_ledger(mongo)
    # The house's only payments here are stamps' rewards (a first win, once per wallet),
    # paid just after a match ends: wait until the balances include them.
    balances, stamp_rewards = await eventually(
        functools.partial(_balances_and_stamp_rewards, mongo, wallets), timeout=30
    )
    verified = ledger_verify(site.database.uri, DATABASE)
    for pair in pairs:
        for player in pair.back:
            await player.close()
    stop_serve(second)
    site.serve = None
    mongo.close()
    lost = {w: walked[w] - after_restart[w] for w in wallets}
    print(
        f"\nchaos kill -9: {len(pairs)} matches in progress, {len(players)} players; the kill "
        f"came with a stats flush in flight ({in_flight}); world.steps per player: flushed "
        f"before {sum(flushed.values())}, stored at the kill {sum(before_kill.values())}, "
        f"acknowledged {sum(walked.values())}, stored after the restart "
        f"{sum(after_restart.values())} (lost {sum(lost.values())}, at most "
        f"{scale.steps_during} per player); match results "
        f"{dict(Counter((m['status'], m['result']) for m in matches.values()))}"
    )

    assert in_flight
    for wallet in wallets:
        assert flushed[wallet] <= before_kill[wallet] <= after_restart[wallet] <= walked[wallet]
    assert all(m["status"] == "completed" for m in matches.values())
    for pair in pairs:
        match = matches[pair.match_id]
        assert match["result"] == _expected_result(pair.ending), (pair.ending, match["result"])
        assert ledger[pair.match_id] == _expected_entries(pair, match)
    assert all(balances[w] >= 0 for w in wallets)
    # Coins only moved between the players, but for the stamps' rewards.
    assert sum(balances[w] for w in wallets) == FUNDS * len(wallets) + stamp_rewards
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def _fund(url: str, token: str, wallets: list[str]) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for wallet in wallets:
            response = await http.post(
                url + "/admin/coins",
                headers={"authorization": f"Bearer {token}"},
                json={"walletAddress": wallet, "amount": FUNDS, "reason": "chaos funds",
                      "idempotencyKey": f"fund-{wallet}"},
            )  # fmt: skip
            assert response.status_code == 200, response.text


def _flush_in_flight(serve: ServeProcess, mark: int) -> bool:
    """The log's last stats line after `mark` is a flush start: the kill came inside it."""
    stats = [m for m in log_messages(serve)[mark:] if m.startswith("stats flush")]
    return bool(stats) and stats[-1].startswith("stats flush started")


async def _finish(site: Site, pair: Pair) -> None:
    """Win and draw: both players sign in again, get `match_state`, and play on. Forfeit:
    seat 1 signs in again and gives up. Abandoned: nobody comes back."""
    seats = list(pair.players)
    if pair.ending in {"win", "draw", "decided_at_kill"}:
        pair.back = [Player(site.ws_url, wallet=p.wallet) for p in seats]
    elif pair.ending == "forfeit":
        pair.back = [Player(site.ws_url, wallet=seats[1].wallet)]
    await enter_all(pair.back, lambda _: "town")
    for player in pair.back:
        seq = len(_opening(pair))
        await eventually(
            functools.partial(_resumed, player, pair.match_id, seq), every=0.1, timeout=10
        )
    if pair.ending == "win":
        await _play(pair.back, pair.match_id, TO_WIN, first=0)
    elif pair.ending == "draw":
        await _play(pair.back, pair.match_id, TO_DRAW, first=0)
    elif pair.ending == "decided_at_kill":
        await _play(pair.back, pair.match_id, TO_WIN[-1:], first=0)
    elif pair.ending == "forfeit":
        reply = await pair.back[0].call({"type": "match_forfeit", "matchId": pair.match_id})
        assert reply["type"] == "match_forfeited", reply


def _resumed(player: Player, match_id: str, seq: int) -> bool:
    """The player got the match's `match_state` at `seq` on signing in again."""
    return any(
        f.get("type") == "match_state" and f.get("matchId") == match_id and f.get("seq") == seq
        for f in player.frames
    )


def _active(client: MongoClient[dict[str, Any]]) -> int:
    return client[DATABASE]["matches"].count_documents({"status": "active"})


def _balances_and_stamp_rewards(
    client: MongoClient[dict[str, Any]], wallets: list[str]
) -> tuple[dict[str, int], int] | None:
    """The balances and the stamp rewards paid, once they add up (None until then)."""
    balances = {u["walletAddress"]: u["coins"] for u in client[DATABASE]["users"].find()}
    rewards = sum(
        t["amount"] for t in client[DATABASE]["transactions"].find({"type": "stamp_reward"})
    )
    if sum(balances[w] for w in wallets) != FUNDS * len(wallets) + rewards:
        return None
    return balances, rewards


def _match_ledger(client: MongoClient[dict[str, Any]]) -> dict[str, list[tuple[str, str, int]]]:
    """Every match's coin entries: (type, wallet, amount), sorted."""
    entries: dict[str, list[tuple[str, str, int]]] = {}
    for entry in client[DATABASE]["transactions"].find({"type": {"$regex": "^match_"}}):
        match_id = entry["proof"]["matchId"]
        entries.setdefault(match_id, []).append(
            (entry["type"], entry["walletAddress"], entry["amount"])
        )
    return {match_id: sorted(found) for match_id, found in entries.items()}


def _expected_result(ending: str) -> str:
    return {"win": "three_in_a_row", "draw": "board_full", "forfeit": "forfeit",
            "abandoned": "abandoned", "decided_at_kill": "three_in_a_row"}[ending]  # fmt: skip


def _expected_entries(pair: Pair, match: dict[str, Any]) -> list[tuple[str, str, int]]:
    wallets = [p.wallet.address for p in pair.players]
    escrow = [("match_escrow", w, -WAGER) for w in wallets]
    # A forfeit or abandonment before the loser's MATCH_MIN_MOVES moves refunds both stakes.
    if match["winnerWallet"] is None or match.get("stakesRefunded"):
        settled = [("match_refund", w, WAGER) for w in wallets]
    else:
        settled = [("match_payout", match["winnerWallet"], 2 * WAGER)]
    assert ObjectId.is_valid(pair.match_id)
    return sorted(escrow + settled)
