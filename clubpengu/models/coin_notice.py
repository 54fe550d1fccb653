"""CoinNotice: a balance changed by a process that is not a node (the CLI, a script),
waiting for the nodes to tell the player (services/outside_notices.py)."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL


class CoinNotice(Document):
    """One ledger change made outside every node: the wallet, the signed change, the
    entry's type (`reason`) and when it committed (`at`, by the writer's clock).

    The nodes read the new ones by `at` (the index), and the TTL on the same field drops
    them after KEEP_SECONDS: a notice is only wanted in the second after it is written.
    """

    model_config = CAMEL

    wallet_address: str
    delta: int
    reason: str
    at: datetime

    class Settings:
        name = "coin_notices"
        indexes = [IndexModel([("at", ASCENDING)], expireAfterSeconds=3600, name="ttl_at")]
