"""The ledger keys of migrated coins, and what a rolled-back import does to them.

A wallet brings one save: its migrated coins are credited under the key
`migration:<wallet>`, whether applied at once in game, approved by staff or bulk-imported,
so a second migration of the wallet finds the first and credits nothing.

An operator's rollback of an import run (`import-saves --rollback`) removes the run's
unplayed players and takes their coins back with a reversal entry (`import_rollback`);
ledger entries are never removed, so the first key stays taken. Each such reversal opens
a new generation: after n of them, the wallet's next migration (imported again, or brought
in game) is credited under `migration:<wallet>:<n>`. Only a rollback opens one, so two
migrations of one wallet in the same generation still share a key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clubpengu.models import ImportRun, Transaction

MIGRATION = "migration"  # a migration ledger entry's type, and its key's prefix
ROLLBACK = "import_rollback"  # a rolled-back import's reversal entries' type


def migration_key(wallet: str, generation: int = 0) -> str:
    """The ledger key of `wallet`'s migrated coins after `generation` rollbacks of its
    imports."""
    return f"{MIGRATION}:{wallet}" if generation == 0 else f"{MIGRATION}:{wallet}:{generation}"


def key_wallet(key: str) -> str | None:
    """The wallet a migration key names, or None for another key. (Wallets are base58:
    they hold no colon.)"""
    prefix = f"{MIGRATION}:"
    if not key.startswith(prefix):
        return None
    return key[len(prefix) :].split(":", 1)[0] or None


async def generation(wallet: str) -> int:
    """How many rollbacks reversed `wallet`'s imported coins (its entries are found by
    the ledger's `by_wallet` index)."""
    return await Transaction.get_pymongo_collection().count_documents(
        {"walletAddress": wallet, "type": ROLLBACK}
    )


async def generations(wallets: Iterable[str]) -> dict[str, int]:
    """Each wallet's generation, for a batch of the bulk import; wallets absent are at 0.
    While no import was ever rolled back (the usual case) this is one read of the
    `import_runs` collection, not one per wallet."""
    if not await rollbacks_begun():
        return {}
    pipeline: list[dict[str, Any]] = [
        {"$match": {"walletAddress": {"$in": list(wallets)}, "type": ROLLBACK}},
        {"$group": {"_id": "$walletAddress", "n": {"$sum": 1}}},
    ]
    cursor = await Transaction.get_pymongo_collection().aggregate(pipeline)
    return {doc["_id"]: int(doc["n"]) async for doc in cursor}


async def rollbacks_begun() -> bool:
    """Whether an applied rollback of any import run ever began: it marks its run first
    (`rollbackBegunAt`), before any reversal, so an interrupted one counts; runs rolled
    back before that mark existed carry `rolledBackAt`."""
    found = await ImportRun.get_pymongo_collection().find_one(
        {"$or": [{"rollbackBegunAt": {"$ne": None}}, {"rolledBackAt": {"$ne": None}}]},
        {"_id": 1},
    )
    return found is not None
