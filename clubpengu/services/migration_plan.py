"""What a localStorage save (seed 000 §3) may bring into the database: strict validation
of the seed game's keys into a MigrationPlan of what is accepted and what is dropped, and
why. Pure code: the in-game migration and the bulk import both use it."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from clubpengu.config import DEFAULT_CHAT_FILTER_WORDS
from clubpengu.services.names import NamePolicy, tidy
from clubpengu.wordfilter import WordFilter

STAMP = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_STAMPS = 500
MAX_LIST = 1000
KNOWN_KEYS = (
    "penguin_name",
    "clubpenguin_save",
    "penguin_customization",
    "unlocked_cosmetics",
    "unlocked_mounts",
    "puffles",
)
SAVE_KEYS = ("coins", "stamps")


class CatalogItemLike(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def slot(self) -> str: ...


class CatalogLike(Protocol):
    def get(self, item_id: str) -> Any: ...


@dataclass(frozen=True)
class Dropped:
    field: str
    reason: str

    def public(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass
class MigrationPlan:
    username: str | None = None
    coins: int = 0
    stamps: list[str] = field(default_factory=list)
    cosmetics: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=lambda: ["none"])
    customization: dict[str, str] = field(default_factory=dict)
    puffles: list[dict[str, str]] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)

    def drop(self, where: str, reason: str) -> None:
        self.dropped.append(Dropped(where, reason))

    def accepted(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "coins": self.coins,
            "stamps": self.stamps,
            "unlockedCosmetics": self.cosmetics,
            "unlockedMounts": self.mounts,
            "customization": self.customization,
            "puffles": self.puffles,
        }

    @classmethod
    def from_accepted(cls, accepted: dict[str, Any]) -> MigrationPlan:
        """The plan whose `accepted()` this is (a held claim's, when staff approve it)."""
        return cls(
            username=accepted.get("username"),
            coins=int(accepted.get("coins", 0)),
            stamps=list(accepted.get("stamps", [])),
            cosmetics=list(accepted.get("unlockedCosmetics", [])),
            mounts=list(accepted.get("unlockedMounts", ["none"])),
            customization=dict(accepted.get("customization", {})),
            puffles=list(accepted.get("puffles", [])),
        )


def review_reasons(
    plan: MigrationPlan, exclusives: list[str], *, max_coins: int, max_puffles: int
) -> list[str]:
    """Why a save must wait for staff (empty: it may be applied at once): more coins or
    puffles than the review thresholds, or any item the catalogue does not sell."""
    reasons = []
    if plan.coins > max_coins:
        reasons.append(f"coins: {plan.coins} (more than {max_coins})")
    if exclusives:
        reasons.append(f"not for sale: {', '.join(exclusives)}")
    if len(plan.puffles) > max_puffles:
        reasons.append(f"puffles: {len(plan.puffles)} (more than {max_puffles})")
    return reasons


def _catalogue_stamps() -> frozenset[str]:
    from clubpengu.progression.stamps import load_stamps

    return frozenset(stamp.id for stamp in load_stamps())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_list(plan: MigrationPlan, where: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        plan.drop(where, "expected a list")
        return []
    if len(value) > MAX_LIST:
        plan.drop(f"{where}[{MAX_LIST}:]", f"more than {MAX_LIST} entries")
        value = value[:MAX_LIST]
    texts: list[str] = []
    for index, item in enumerate(value):
        if isinstance(item, str) and item not in texts:
            texts.append(item)
        elif not isinstance(item, str):
            plan.drop(f"{where}[{index}]", "expected text")
    return texts


class MigrationPlanner:
    """Turns `localData` into a MigrationPlan against the item and puffle catalogues."""

    def __init__(
        self,
        catalog: CatalogLike,
        puffle_colors: Collection[str],
        *,
        max_coins: int,
        max_puffles: int,
        names: NamePolicy | None = None,
        stamps: Collection[str] | None = None,
    ) -> None:
        self.catalog = catalog
        # The stamp ids a save may bring: the stamp catalogue's (progression/stamps.py).
        self.stamps = frozenset(stamps) if stamps is not None else _catalogue_stamps()
        self.puffle_colors = puffle_colors
        self.max_coins = max_coins
        self.max_puffles = max_puffles
        self.names = names or NamePolicy(WordFilter(DEFAULT_CHAT_FILTER_WORDS))

    @classmethod
    def for_catalog(
        cls,
        catalog: CatalogLike,
        *,
        max_coins: int,
        max_puffles: int,
        names: NamePolicy | None = None,
    ) -> MigrationPlanner:
        """A planner over the item catalogue and the packaged puffle colours."""
        from clubpengu.services.puffle_catalog import PuffleCatalog

        colors = PuffleCatalog.load().colors
        return cls(catalog, colors, max_coins=max_coins, max_puffles=max_puffles, names=names)

    def exclusives(self, plan: MigrationPlan) -> list[str]:
        """The unlocks of `plan` that the catalogue does not sell (starters aside): items a
        player can only have been given, so a save may not grant them by itself."""
        found = []
        for item_id in [*plan.cosmetics, *plan.mounts]:
            item = self.catalog.get(item_id)
            sold = item is None or getattr(item, "for_sale", True)
            if not sold and not getattr(item, "starter", False):
                found.append(item_id)
        return found

    def plan(self, local_data: dict[str, Any]) -> MigrationPlan:
        plan = MigrationPlan()
        for key in local_data:
            if key not in KNOWN_KEYS:
                plan.drop(str(key)[:40], "unknown key")
        self._username(plan, local_data.get("penguin_name"))
        self._save(plan, local_data.get("clubpenguin_save"))
        self._unlocks(plan, local_data)
        self._customization(plan, local_data.get("penguin_customization"))
        self._puffles(plan, local_data.get("puffles"))
        return plan

    def _username(self, plan: MigrationPlan, name: Any) -> None:
        """The save's name, taken as a wish: the name policy's rules here, and a number
        added later if another player has it (services/usernames.py)."""
        if name is None:
            return
        problem = self.names.username_problem(name)
        if problem is not None:
            plan.drop("penguin_name", problem)
        else:
            plan.username = tidy(name)

    def _save(self, plan: MigrationPlan, save: Any) -> None:
        if save is None:
            return
        if not isinstance(save, dict):
            plan.drop("clubpenguin_save", "expected an object")
            return
        for key in save:
            if key not in SAVE_KEYS:
                plan.drop(f"clubpenguin_save.{str(key)[:40]}", "unknown key")
        coins = save.get("coins", 0)
        if not _is_int(coins) or coins < 0:
            plan.drop("clubpenguin_save.coins", "expected a whole number of coins, 0 or more")
        elif coins > self.max_coins:
            plan.coins = self.max_coins
            plan.drop("clubpenguin_save.coins", f"capped at {self.max_coins} (was {coins})")
        else:
            plan.coins = coins
        stamps = _text_list(plan, "clubpenguin_save.stamps", save.get("stamps", []))
        for stamp in stamps:
            where = f"clubpenguin_save.stamps:{stamp[:40]}"
            if not STAMP.match(stamp):
                plan.drop(where, "not a stamp id")
            elif stamp not in self.stamps:
                plan.drop(where, "no such stamp")
            elif len(plan.stamps) < MAX_STAMPS:
                plan.stamps.append(stamp)

    def _unlocks(self, plan: MigrationPlan, local_data: dict[str, Any]) -> None:
        for key, kind, target in (
            ("unlocked_cosmetics", "cosmetic", plan.cosmetics),
            ("unlocked_mounts", "mount", plan.mounts),
        ):
            for item_id in _text_list(plan, key, local_data.get(key, [])):
                if kind == "mount" and item_id == "none":
                    continue
                item = self.catalog.get(item_id)
                if item is None or str(item.type) != kind:
                    plan.drop(f"{key}:{item_id[:40]}", f"no such {kind}")
                elif item_id not in target:
                    target.append(item_id)

    def _customization(self, plan: MigrationPlan, look: Any) -> None:
        if look is None:
            return
        if not isinstance(look, dict):
            plan.drop("penguin_customization", "expected an object")
            return
        for slot, item_id in look.items():
            where = f"penguin_customization.{str(slot)[:20]}"
            item = self.catalog.get(item_id) if isinstance(item_id, str) else None
            if item is None or item.slot != slot:
                plan.drop(where, "no such item for this slot")
            elif not (
                item_id in plan.cosmetics
                or item_id in plan.mounts
                or getattr(item, "starter", False)
            ):
                plan.drop(where, "not among the migrated unlocks")
            else:
                plan.customization[slot] = item_id

    def _puffles(self, plan: MigrationPlan, puffles: Any) -> None:
        if puffles is None:
            return
        if not isinstance(puffles, list):
            plan.drop("puffles", "expected a list")
            return
        for index, puffle in enumerate(puffles):
            where = f"puffles[{index}]"
            if len(plan.puffles) >= self.max_puffles:
                plan.drop(where, f"at most {self.max_puffles} puffles")
                continue
            if not isinstance(puffle, dict):
                plan.drop(where, "expected an object")
                continue
            name, color = puffle.get("name"), puffle.get("color")
            if not isinstance(color, str) or color not in self.puffle_colors:
                plan.drop(where, "unknown puffle colour")
            elif (problem := self.names.puffle_name_problem(name)) is not None:
                plan.drop(where, f"puffle name: {problem}")
            else:
                plan.puffles.append({"name": tidy(str(name)), "color": color})
