"""Three nodes on the test session's database and Redis, shared by the cluster tests (each
test takes rooms and wallets of its own) and stopped when they are done. Tests that stop
Redis or a node start their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.support import Cluster, running_cluster
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="package")
def cluster(
    mongo_uri: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), mongo_uri, redis_server, 3) as nodes:
        yield nodes


@pytest.fixture
def room(cluster: Cluster) -> str:
    return cluster.room()
