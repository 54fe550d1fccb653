"""The economy's log line: one `economy` line per committed economy action
(docs/observability.md#logs), written by the ledger (services/economy.py) and by the services that
write ledger entries inside their own transactions (matches) or move no coins (a promo
code or a save that brought items only)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from clubpengu.services.ledger import LedgerEntry, LedgerResult, short_actor, short_wallet

logger = logging.getLogger(__name__)

Change = tuple[LedgerEntry, LedgerResult]

# Proof fields worth a place in the log line, under these names (never `admin`: a wallet).
_LOGGED_PROOF = {"itemId": "item", "code": "code", "puffleId": "puffle", "color": "color",
                 "matchId": "match"}  # fmt: skip


def log_economy(
    changes: Sequence[Change],
    *,
    type: str | None = None,
    wallet: str | None = None,
    actor: str | None = None,
    **fields: Any,
) -> None:
    """The one `economy` log line of an economy action, written once it has committed.

    One change: `wallet`, `amount` (signed), `balance` after, `tx` (the entry's id). Several
    (a transfer, a match's two escrows or refunds): `entries`, a list of the same. None (a
    promo code or save that brought items only): `wallet` and `amount` 0. Always `type` (the
    ledger type) and `actor`; wallets shortened; `conn` is added by the logging set-up when
    the action came in over a WebSocket. `fields` add context (item, match, transfer ...).
    """
    first = changes[0][0] if changes else None
    extra: dict[str, Any] = {"type": type or (first.type if first else None)}
    if len(changes) == 1:
        extra.update(_change_fields(*changes[0]))
    elif changes:
        extra["entries"] = [_change_fields(entry, result) for entry, result in changes]
    else:
        extra.update(wallet=short_wallet(wallet or ""), amount=0)
    actor = actor or (first.actor if first else "system")
    extra["actor"] = short_actor(actor)
    for key, name in _LOGGED_PROOF.items():
        if first is not None and key in first.proof:
            extra[name] = first.proof[key]
    extra.update(fields)
    logger.info("economy", extra=extra)


def _change_fields(entry: LedgerEntry, result: LedgerResult) -> dict[str, Any]:
    return {
        "wallet": short_wallet(entry.wallet),
        "amount": result.delta,
        "balance": result.balance,
        "tx": result.transaction_id,
    }
