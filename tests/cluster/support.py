"""Several `clubpengu serve` processes on one database and one Redis: the many-nodes test
harness. Each node is a real child process on its own free port, with its own NODE_ID and
the same JWT secret (a token from one node works on every node)."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from pymongo import MongoClient

from tests.redis_server import RedisServer
from tests.support import (
    NO_FARM_LIMITS,
    Client,
    ServeProcess,
    Wallet,
    start_serve,
    stop_serve,
    wait_healthy,
)

CLUSTER_DB = "clubpengu_cluster"
SECRET = "cluster-secret-" + "x" * 40
ROOM_COUNT = 40


@dataclass
class Node:
    node_id: str
    serve: ServeProcess

    @property
    def url(self) -> str:
        return self.serve.url

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.serve.port}/ws"


@dataclass
class Cluster:
    nodes: list[Node]
    redis: RedisServer
    mongo_uri: str
    database: str = CLUSTER_DB
    admin: Wallet = field(default_factory=Wallet)
    _rooms: Iterator[int] = field(default_factory=itertools.count)

    def room(self) -> str:
        """A room no other test of this cluster has used."""
        number = next(self._rooms)
        assert number < ROOM_COUNT, "add rooms to the cluster's rooms file"
        return f"c{number}"


def rooms_file(directory: Path) -> Path:
    rooms = [
        {"id": f"c{i}", "name": f"Cluster {i}", "width": 1000, "height": 600,
         "spawn": [100, 100], "capacity": 30, "speed": 1000, "spread": 0}
        for i in range(ROOM_COUNT)
    ]  # fmt: skip
    path = directory / "rooms.json"
    path.write_text(json.dumps({"default": "c0", "rooms": rooms}))
    return path


def node_env(cluster: Cluster, node_id: str, rooms: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        "CLUBPENGU_ENV": "test",
        "NODE_ID": node_id,
        "MONGODB_URI": cluster.mongo_uri,
        "MONGODB_DB": cluster.database,
        "REDIS_URL": cluster.redis.url,
        "REDIS_TIMEOUT": "1s",
        "REDIS_RECONNECT_MAX": "500ms",
        "JWT_SECRET": SECRET,
        "CLUBPENGU_ROOMS": str(rooms),
        "ADMIN_WALLETS": cluster.admin.address,
        "AUTH_RATE_PER_IP": "0",
        "MAX_CONNECTIONS_PER_IP": "0",
        "MESSAGE_RATE_PER_IP": "0",
        "AUTH_RATE_PER_CONNECTION": "0",
        "CHAT_RATE": "100/s",
        "MESSAGE_RATE": "100/s",
        "DAILY_BONUS_COINS": "0",
        **NO_FARM_LIMITS,
        **extra,
    }


@contextlib.contextmanager
def running_cluster(
    directory: Path,
    mongo_uri: str,
    redis: RedisServer,
    count: int,
    database: str = CLUSTER_DB,
    **extra: str,
) -> Iterator[Cluster]:
    """`count` nodes (`node-a`, `node-b` …) serving one database and one Redis."""
    with MongoClient(mongo_uri) as client:
        client.drop_database(database)
    cluster = Cluster([], redis, mongo_uri, database)
    rooms = rooms_file(directory)
    try:
        for index in range(count):
            node_id = f"node-{'abcdefgh'[index]}"
            data_dir = directory / node_id / "data"
            data_dir.mkdir(parents=True)
            serve = start_serve(data_dir, node_env(cluster, node_id, rooms, extra))
            cluster.nodes.append(Node(node_id, serve))
        for node in cluster.nodes:
            wait_healthy(node.serve)
        yield cluster
    finally:
        for node in cluster.nodes:
            with contextlib.suppress(Exception):
                stop_serve(node.serve)


# --- clients -------------------------------------------------------------------------------


async def connect(node: Node) -> Client:
    ws = await websockets.connect(node.ws_url, max_size=None, max_queue=None)
    return Client(ws)


async def joined_with_token(node: Node, token: str, room: str) -> tuple[Client, dict[str, Any]]:
    client = await connect(node)
    joined = await client.call({"type": "join", "token": token, "room": room})
    return client, joined


async def health(node: Node) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(node.url + "/health")
    body: dict[str, Any] = response.json()
    return response.status_code, body
