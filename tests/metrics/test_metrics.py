"""GET /metrics: the Prometheus exposition, its names, and what the server records."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from clubpengu.config import Rate, Settings
from clubpengu.metrics import MESSAGE_TYPES, Metrics, PrometheusMetrics, frame_type
from tests.realtime.test_slow_clients import _stuck_client
from tests.redis_server import RedisServer
from tests.support import Client, RunningServer, Wallet, connect, enter, grant, run_server
from tests.waiting import eventually

# The names the dashboard and alert rules (compose's Prometheus and Grafana) rely on.
# A counter family is named without `_total` by the parser, its sample with it.
EXPORTED = {
    "clubpengu_websocket_connections": "gauge",
    "clubpengu_rooms_active": "gauge",
    "clubpengu_messages_in": "counter",
    "clubpengu_messages_out": "counter",
    "clubpengu_tick_duration_seconds": "histogram",
    "clubpengu_tick_batch_size": "histogram",
    "clubpengu_tick_overruns": "counter",
    "clubpengu_outgoing_dropped": "counter",
    "clubpengu_slow_client_closes": "counter",
    "clubpengu_rate_limited": "counter",
    "clubpengu_signins": "counter",
    "clubpengu_mongodb_command_duration_seconds": "histogram",
    "clubpengu_mongodb_command_failures": "counter",
    "clubpengu_redis_publish_duration_seconds": "histogram",
    "clubpengu_redis_reconnects": "counter",
    "clubpengu_redis_up": "gauge",
    "clubpengu_matches_started": "counter",
    "clubpengu_matches_completed": "counter",
    "clubpengu_matches_forfeited": "counter",
    "clubpengu_coins": "counter",
    "clubpengu_economy_errors": "counter",
    "clubpengu_stats_pending_counters": "gauge",
    "clubpengu_stats_flush_duration_seconds": "histogram",
    "clubpengu_stats_flush_failures": "counter",
    "clubpengu_health_status": "gauge",
    "clubpengu_database_up": "gauge",
    "clubpengu_ledger_mismatches": "gauge",
    "clubpengu_ledger_verified_timestamp_seconds": "gauge",
    "clubpengu_node_info": "gauge",
    "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge",
}
WIN_FOR_SEAT_0 = [0, 3, 1, 4, 2]  # tic-tac-toe: seat 0 takes a row


class Scrape:
    """One parsed /metrics answer."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}

    def value(self, sample: str, **labels: str) -> float:
        """The sample `sample` with exactly `labels`; 0 when absent (a counter not yet
        incremented)."""
        for family in self.families.values():
            for s in family.samples:
                if s.name == sample and s.labels == labels:
                    return float(s.value)
        return 0.0

    def label_values(self) -> set[str]:
        return {v for f in self.families.values() for s in f.samples for v in s.labels.values()}


async def scrape(server: RunningServer) -> Scrape:
    async with httpx.AsyncClient() as http:
        response = await http.get(server.url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return Scrape(response.text)


def own_client(settings: Settings, **changes: Any) -> Settings:
    """A server that makes its own database client (with the metrics' command listener)
    on the test database, instead of sharing the test session's."""
    return settings.with_overrides(**changes)


async def test_metrics_exports_every_name_with_its_type(server: RunningServer) -> None:
    metrics = await scrape(server)

    found = {name: metrics.families[name].type for name in EXPORTED if name in metrics.families}
    assert found == EXPORTED
    node = metrics.families["clubpengu_node_info"].samples[0]
    assert node.labels == {"node": server.node.settings.node_id} and node.value == 1
    assert metrics.value("process_resident_memory_bytes") > 0
    assert "_created" not in metrics.text  # no second series per counter


async def test_metrics_is_not_served_when_disabled(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with (
        run_server(settings.with_overrides(metrics_enabled=False), mongo_client) as running,
        httpx.AsyncClient() as http,
    ):
        response = await http.get(running.url + "/metrics")
        health = await http.get(running.url + "/health")

    assert response.status_code == 404
    assert health.status_code == 200
    assert not running.node.metrics.enabled
    assert await running.node.metrics.exposition() == b""


def test_every_registered_message_type_is_a_label_value(server: RunningServer) -> None:
    assert set(server.router.routes) <= MESSAGE_TYPES


async def _failed_sign_in(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        challenge = await client.request({"type": "auth_request"})
        reply = await client.request(
            {
                "type": "auth_verify",
                "walletAddress": Wallet().address,
                "signature": Wallet().sign(challenge["nonce"]),  # someone else's signature
            }
        )
    assert reply == {"type": "auth_failure", "error": "invalid_signature"}


async def _walk_and_chat(a: Client, b: Client) -> None:
    for step in range(1, 4):
        await a.call({"type": "move", "x": 700 + step, "y": 600})
    await b.recv_type("moves")  # a tick carried them
    await a.call({"type": "chat", "text": "hello"})
    await b.recv_type("chat")


async def _shop(server: RunningServer, a: Client, b: Client, wa: Wallet, wb: Wallet) -> None:
    await grant(server, wa, 100)
    await grant(server, wb, 100)
    bought = await a.call({"type": "purchase", "itemId": "party_hat", "idempotencyKey": "k1"})
    assert bought["type"] == "purchase_result", bought
    refused = await b.call({"type": "purchase", "itemId": "sled", "idempotencyKey": "k2"})
    assert refused["code"] == "insufficient_funds", refused


async def _tictactoe(a: Client, b: Client, joined_b: dict[str, Any]) -> None:
    sent = await a.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe",
         "wager": 20}
    )  # fmt: skip
    started_b = await b.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    started_a = await a.recv_type("match_start")
    seats = {started_a["seat"]: a, started_b["seat"]: b}
    for turn, cell in enumerate(WIN_FOR_SEAT_0):
        reply = await seats[turn % 2].call(
            {"type": "match_move", "matchId": started_b["matchId"], "move": {"cell": cell}}
        )
        assert reply["type"] == "match_state" or reply["type"] == "match_end", reply
    await seats[1].recv_type("match_end")


async def test_a_scripted_session_moves_the_counters_by_what_happened(
    settings: Settings,
) -> None:
    own = own_client(settings, stats_flush_interval_seconds=0.2)
    wa, wb = Wallet(), Wallet()
    async with run_server(own) as server:
        before = await scrape(server)
        await _failed_sign_in(server)
        a, _, _ = await enter(server.ws_url, wa, room="plaza")
        b, _, joined_b = await enter(server.ws_url, wb, room="plaza")
        await _walk_and_chat(a, b)
        await _shop(server, a, b, wa, wb)
        await _tictactoe(a, b, joined_b)
        flushes = "clubpengu_stats_flush_duration_seconds_count"
        during = await eventually(
            lambda: scrape(server),
            "a stats flush",
            ready=lambda m: m.value(flushes) > before.value(flushes),
        )
        await a.close()
        await b.close()

    def moved(sample: str, **labels: str) -> float:
        return during.value(sample, **labels) - before.value(sample, **labels)

    assert moved("clubpengu_messages_in_total", type="move") == 3
    assert moved("clubpengu_messages_in_total", type="chat") == 1
    assert moved("clubpengu_messages_out_total", type="chat") == 2  # to both members
    assert moved("clubpengu_messages_out_total", type="moves") >= 2
    assert moved("clubpengu_messages_out_total", type="auth_success") == 2
    assert moved("clubpengu_messages_out_total", type="unknown") == 0  # every frame typed
    assert moved("clubpengu_signins_total", result="ok") == 2
    assert moved("clubpengu_signins_total", result="invalid_signature") == 1
    assert moved("clubpengu_coins_total", type="admin_adjustment") == 200
    assert moved("clubpengu_coins_total", type="purchase") == 50
    assert moved("clubpengu_coins_total", type="match_escrow") == 40
    assert moved("clubpengu_coins_total", type="match_payout") == 40
    assert moved("clubpengu_economy_errors_total", code="insufficient_funds") == 1
    assert moved("clubpengu_matches_started_total", game="tictactoe") == 1
    assert moved("clubpengu_matches_completed_total", game="tictactoe") == 1
    assert moved("clubpengu_matches_forfeited_total", game="tictactoe") == 0
    for command in ("find", "insert", "update", "commitTransaction"):
        count = "clubpengu_mongodb_command_duration_seconds_count"
        assert moved(count, command=command) > 0, command
    assert moved("clubpengu_tick_duration_seconds_count") > 0
    assert moved("clubpengu_tick_batch_size_count") >= 1
    assert moved("clubpengu_stats_flush_duration_seconds_count") >= 1
    assert during.value("clubpengu_websocket_connections") == 2
    assert during.value("clubpengu_rooms_active") == 1
    assert during.value("clubpengu_health_status") == 1
    assert during.value("clubpengu_database_up") == 1
    assert not any(w in during.text for w in (wa.address, wb.address))
    assert all(len(value) < 32 for value in during.label_values())  # no wallet-sized labels


async def test_a_forfeit_counts_as_completed_and_forfeited(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with run_server(settings, mongo_client) as server:
        a, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        b, _, joined_b = await enter(server.ws_url, Wallet(), room="plaza")
        sent = await a.call(
            {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "connect_four"}
        )
        started = await b.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
        await a.call({"type": "match_forfeit", "matchId": started["matchId"]})
        metrics = await scrape(server)
        await a.close()
        await b.close()

    assert metrics.value("clubpengu_matches_started_total", game="connect_four") == 1
    assert metrics.value("clubpengu_matches_completed_total", game="connect_four") == 1
    assert metrics.value("clubpengu_matches_forfeited_total", game="connect_four") == 1
    assert metrics.value("clubpengu_matches_started_total", game="card_jitsu") == 0


async def test_rate_limits_slow_clients_and_dropped_batches_are_counted(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    changes = {"tick_rate": 20.0, "move_rate": Rate(3, 1.0), "chat_rate": Rate(1000, 1.0),
               "abuse_seconds": 60.0, "slow_client_seconds": 1.0,
               "outgoing_queue_limit": 16}  # fmt: skip
    async with run_server(settings.with_overrides(**changes), mongo_client) as server:
        mover, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        slow, _ = await _stuck_client(server, Wallet(), "plaza")
        refused = 0
        started = time.monotonic()
        while time.monotonic() - started < 15:
            for step in range(5):  # over the limit of 3 a second
                reply = await mover.call({"type": "move", "x": 600 + step, "y": 600})
                refused += reply.get("code") == "rate_limited"
            for _ in range(10):  # fills the stuck client's socket
                await mover.call({"type": "chat", "text": secrets.token_hex(90)})
            metrics = await scrape(server)
            if metrics.value("clubpengu_slow_client_closes_total") >= 1:
                break
            await asyncio.sleep(0.1)  # the mover's pace: part of the load, not a wait
        slow.ws.transport.abort()
        await mover.close()

    assert metrics.value("clubpengu_rate_limited_total") == refused > 0
    assert metrics.value("clubpengu_outgoing_dropped_total") >= 1
    assert metrics.value("clubpengu_slow_client_closes_total") == 1


async def test_ledger_verification_sets_the_ledger_gauges_periodically(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    started = time.time()
    async with run_server(
        settings.with_overrides(ledger_verify_interval=0.2), mongo_client
    ) as server:
        wallet = Wallet()
        client, _, _ = await enter(server.ws_url, wallet)
        await grant(server, wallet, 10)
        metrics = await eventually(
            lambda: scrape(server),
            "a ledger verification",
            ready=lambda m: m.value("clubpengu_ledger_verified_timestamp_seconds") >= started,
        )
        await client.close()

    assert metrics.value("clubpengu_ledger_mismatches") == 0
    assert metrics.value("clubpengu_ledger_verified_timestamp_seconds") >= started


async def test_redis_publications_and_state_are_measured(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]], redis_server: RedisServer
) -> None:
    async with run_server(settings.with_overrides(redis_url=redis_server.url), mongo_client) as s:
        a, _, _ = await enter(s.ws_url, Wallet(), room="plaza")
        await a.call({"type": "chat", "text": "over redis"})
        metrics = await eventually(
            lambda: scrape(s),
            "a publication measured",
            ready=lambda m: m.value("clubpengu_redis_publish_duration_seconds_count") >= 1,
        )
        await a.close()

    assert metrics.value("clubpengu_redis_up") == 1
    assert metrics.value("clubpengu_redis_reconnects_total") == 0
    assert metrics.value("clubpengu_redis_publish_duration_seconds_count") >= 1


def test_a_frame_s_type_is_read_from_its_text_and_bounded() -> None:
    assert frame_type('{"type":"chat","text":"hi"}') == "chat"
    assert frame_type('{"type":"made_up","x":1}') == "unknown"
    assert frame_type('{"rid":1,"type":"chat"}') == "unknown"
    assert frame_type('{"type":"' + "a" * 100) == "unknown"


def test_the_prometheus_recorder_overrides_every_recording_method() -> None:
    names = [n for n in vars(Metrics) if not n.startswith("_") and callable(vars(Metrics)[n])]

    assert names and all(vars(PrometheusMetrics).get(n) is not None for n in names)
