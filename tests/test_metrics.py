"""GET /metrics: the Prometheus exposition, its names, and what the server records."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.support import RunningServer, run_server

# The names the dashboard and alert rules (compose's Prometheus and Grafana) rely on.
# A counter family is named without `_total`, its sample with it.
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


async def scrape(server: RunningServer) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(server.url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


async def test_metrics_exports_every_name_with_its_type(server: RunningServer) -> None:
    families = await scrape(server)

    assert {name: families[name].type for name in EXPORTED if name in families} == EXPORTED
    node = families["clubpengu_node_info"].samples[0]
    assert node.labels == {"node": server.runtime.settings.node_id} and node.value == 1


async def test_metrics_is_not_served_when_disabled(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with (
        run_server(settings.with_overrides(metrics_enabled=False), mongo_client) as running,
        httpx.AsyncClient() as http,
    ):
        response = await http.get(running.url + "/metrics")

    assert response.status_code == 404
    assert not running.runtime.metrics.enabled
