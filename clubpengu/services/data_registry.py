"""What this server holds about a wallet, collection by collection: how each collection's
documents of a wallet are found (for an export and an erasure), what an erasure does to
them, and how long they are kept anyway. The export (services/data_export.py), the erasure
(services/erasure.py) and the retention table of docs/privacy.md all read this registry,
and a test fails for a collection of the database that has no entry: a new collection is
one `Policy` here.

An erasure deletes the wallet's documents, or keeps them pseudonymised: every string that
holds the wallet has it replaced by the wallet's tombstone (`erased:<keyed hash>`), and a
string equal to the player's name becomes ERASED_NAME. What is kept so is what other
records depend on: the ledger (`clubpengu ledger verify` and the economy report add it up),
matches (the other player's history), the audit and moderation trails, promo redemptions
(each names its ledger entry) and the reports players filed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

TOMBSTONE_PREFIX = "erased:"
ERASED_NAME = "(erased)"


class Erase(StrEnum):
    DELETE = "delete"  # the wallet's documents are deleted
    PSEUDONYMISE = "pseudonymise"  # kept, the wallet replaced by its tombstone
    JOB = "job"  # the erasure's own record: the job drops the wallet when it ends
    NONE = "none"  # holds nothing about a player: not exported, nothing to erase


Filter = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Policy:
    """One collection's entry. `find(wallet)` is the filter of the wallet's documents;
    `omit` names fields never exported (server secrets); `retention` and `why` are the
    docs' retention table, `ttl` whether a TTL index expires the documents."""

    collection: str
    find: Filter
    erase: Erase
    retention: str
    why: str
    ttl: bool = False
    omit: tuple[str, ...] = ()


def field_is(*fields: str) -> Filter:
    """Documents where any of `fields` is the wallet."""

    def find(wallet: str) -> dict[str, Any]:
        if len(fields) == 1:
            return {fields[0]: wallet}
        return {"$or": [{name: wallet} for name in fields]}

    return find


def nothing(wallet: str) -> dict[str, Any]:
    return {"_id": {"$exists": False}}


def actor_forms(wallet: str) -> list[str]:
    """How the wallet appears as an actor: itself (staff), `player:`, `admin:`."""
    return [wallet, f"player:{wallet}", f"admin:{wallet}"]


def _transactions(wallet: str) -> dict[str, Any]:
    return {
        "$or": [
            {"walletAddress": wallet},
            {"counterpartyWallet": wallet},
            {"actor": {"$in": actor_forms(wallet)}},
        ]
    }


def _audit(wallet: str) -> dict[str, Any]:
    return {
        "$or": [
            {"walletAddress": wallet},
            {"target": wallet},
            {"actor": {"$in": actor_forms(wallet)}},
        ]
    }


def _moderation(wallet: str) -> dict[str, Any]:
    return {"$or": [{"walletAddress": wallet}, {"actor": {"$in": actor_forms(wallet)}}]}


def _reports(wallet: str) -> dict[str, Any]:
    return {
        "$or": [
            {"reporterWallet": wallet},
            {"targetWallet": wallet},
            {"context.walletAddress": wallet},
            {"resolution.by": {"$in": actor_forms(wallet)}},
        ]
    }


def _day_counters(wallet: str) -> dict[str, Any]:
    # The wallet is in the key (`pair:<a>|<b>:<day>`, `won:<wallet>:<day>`, `coins:…`); a
    # scan of a collection that holds two days.
    return {"_id": {"$regex": re.escape(wallet)}}


def _promo_codes(wallet: str) -> dict[str, Any]:
    return {"createdBy": {"$in": actor_forms(wallet)}}


def _import_runs(wallet: str) -> dict[str, Any]:
    return {"actor": {"$in": actor_forms(wallet)}}


LEDGER_WHY = (
    "the ledger: every balance is the sum of its entries, checked by `clubpengu ledger "
    "verify`, and the economy report adds them up; deleting a player's entries would break "
    "both (and the other side of each transfer)"
)

POLICIES: tuple[Policy, ...] = (
    # Kept, pseudonymised (first: the user is deleted last, after its ledger is closed).
    Policy("transactions", _transactions, Erase.PSEUDONYMISE, "kept for good", LEDGER_WHY),
    Policy(
        "matches", field_is("wallets"), Erase.PSEUDONYMISE, "kept for good",
        "the other player's match history and the wagers' ledger entries name the match",
        omit=("seed",),
    ),
    Policy(
        "audit_logs", _audit, Erase.PSEUDONYMISE, "kept for good",
        "what staff did, and why: a dispute or a rollback replays it",
    ),
    Policy(
        "moderation_actions", _moderation, Erase.PSEUDONYMISE, "kept for good",
        "the moderation history staff decisions rest on",
    ),
    Policy(
        "player_reports", _reports, Erase.PSEUDONYMISE, "kept for good",
        "the report queue and its decisions; the other party's record",
    ),
    Policy(
        "promo_redemptions", field_is("walletAddress"), Erase.PSEUDONYMISE, "kept for good",
        "each redemption names its ledger entry and counts toward the code's maximum",
    ),
    Policy(
        "promo_codes", _promo_codes, Erase.PSEUDONYMISE, "kept for good",
        "codes made by a staff member stay valid after that member's erasure",
    ),
    Policy(
        "import_runs", _import_runs, Erase.PSEUDONYMISE, "kept for good",
        "which saves an import run wrote and who ran it: its rollback reads them",
    ),
    Policy(
        "leaderboard", field_is("walletAddress"), Erase.PSEUDONYMISE,
        "all time: kept; a week's board: kept with its week",
        "the boards' rank counts include the entry: deleting it would shift every rank "
        "below it, so it stays under the tombstone and the erased name",
    ),
    # Deleted.
    Policy(
        "puffles", field_is("ownerWallet"), Erase.DELETE, "until erased",
        "the player's pets, part of the profile",
    ),
    Policy(
        "auth_sessions", field_is("walletAddress"), Erase.DELETE, "until the token expires",
        "a token is valid only while its session exists", ttl=True,
    ),
    Policy(
        "auth_challenges", field_is("walletAddress"), Erase.DELETE, "until it expires "
        "(AUTH_CHALLENGE_TTL)", "a sign-in challenge is single-use", ttl=True,
    ),
    Policy(
        "connection_logs", field_is("walletAddress"), Erase.DELETE, "CONNECTION_LOG_TTL "
        "(90 days) after the close", "support and abuse investigations", ttl=True,
    ),
    Policy(
        "events", field_is("walletAddress"), Erase.DELETE, "EVENT_RETENTION (180 days)",
        "the player's history for support and the analysts' report", ttl=True,
    ),
    Policy(
        "chat_lines", field_is("walletAddress"), Erase.DELETE, "CHAT_LOG_RETENTION (30 days)",
        "the context a player report keeps", ttl=True,
    ),
    Policy(
        "challenges", field_is("challengerWallet", "targetWallet"), Erase.DELETE,
        "until it expires (CHALLENGE_TTL)", "an invitation is answered or lapses", ttl=True,
    ),
    Policy(
        "migration_claims", field_is("walletAddress"), Erase.DELETE, "until erased",
        "the save a wallet brought, once: what stops it being brought twice",
    ),
    Policy(
        "wager_days", _day_counters, Erase.DELETE, "two days",
        "a day's wager counters, read only on their day", ttl=True,
    ),
    Policy(
        "friendships", field_is("low", "high"), Erase.DELETE, "until either player ends it",
        "the two players' buddy lists",
    ),
    Policy(
        "buddy_requests", field_is("fromWallet", "toWallet"), Erase.DELETE,
        "BUDDY_REQUEST_TTL (14 days) unless answered", "a request waits for its answer",
        ttl=True,
    ),
    Policy(
        "ignores", field_is("owner", "wallet"), Erase.DELETE, "until unignored",
        "the ignorer's list: whose chat, requests and challenges it does not see",
    ),
    Policy(
        "coin_notices", field_is("walletAddress"), Erase.DELETE, "one hour",
        "a balance changed outside the nodes, until a node has told the player", ttl=True,
    ),
    Policy(
        "reward_days", _day_counters, Erase.DELETE, "two days",
        "a day's match-reward counters, read only on their day", ttl=True,
    ),
    Policy(
        "erasure_jobs", field_is("walletAddress"), Erase.JOB, "kept for good, without the "
        "wallet", "proof that an erasure was carried out (the tombstone, when, the steps)",
    ),
    Policy(
        "leaderboard_counts", nothing, Erase.NONE, "as long as its board",
        "how many entries hold each key, per board: counts, no player data",
    ),
    Policy(
        "journal_barrier", nothing, Erase.NONE, "one document, rewritten",
        "the database's journal barrier (clubpengu/db.py): a counter, no player data",
    ),
    # Last: the profile, balance, inventory and stats. Its balance is closed first.
    Policy(
        "users", field_is("walletAddress"), Erase.DELETE, "until erased",
        "the player's account: profile, balance, inventory, stats",
    ),
)  # fmt: skip

BY_COLLECTION = {policy.collection: policy for policy in POLICIES}
EXPORTED = tuple(policy for policy in POLICIES if policy.erase is not Erase.NONE)


def pseudonymised(value: Any, wallet: str, tombstone: str, name: str | None) -> Any:
    """`value` with the wallet replaced by `tombstone` in every string (dict keys too), and
    every string equal to `name` replaced by ERASED_NAME."""
    if isinstance(value, str):
        if name is not None and value == name:
            return ERASED_NAME
        return value.replace(wallet, tombstone) if wallet in value else value
    if isinstance(value, dict):
        return {
            pseudonymised(key, wallet, tombstone, None): pseudonymised(
                item, wallet, tombstone, name
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [pseudonymised(item, wallet, tombstone, name) for item in value]
    return value
