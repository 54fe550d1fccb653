"""The item catalogue: `clubpengu/data/items.json`, validated once at start-up.

Items are of three types:
- `cosmetic`: worn in one customization slot (COSMETIC_SLOTS), owned once
  (`users.unlockedCosmetics`);
- `mount`: ridden in the `mount` slot, owned once (`users.unlockedMounts`);
- `puffle_item`: food, toy, soap or bed, in `slot`, kept as a count in
  `users.inventory.<id>`; buying another adds one.

A `starter` item (the default colour `blue`, the mount `none`) is owned by every player
without being bought, and is never for sale. An item for sale has a price above zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from clubpengu.services.ledger import MAX_AMOUNT

COSMETIC_SLOTS = ("color", "head", "face", "neck", "body", "hand", "feet", "background", "pin")
MOUNT_SLOT = "mount"
EQUIP_SLOTS = (*COSMETIC_SLOTS, MOUNT_SLOT)
PUFFLE_ITEM_SLOTS = ("food", "toy", "soap", "bed")


class CatalogError(ValueError):
    """The catalogue file is missing or invalid; the message says where."""


class ItemType(StrEnum):
    COSMETIC = "cosmetic"
    MOUNT = "mount"
    PUFFLE_ITEM = "puffle_item"


_SLOTS_BY_TYPE = {
    ItemType.COSMETIC: COSMETIC_SLOTS,
    ItemType.MOUNT: (MOUNT_SLOT,),
    ItemType.PUFFLE_ITEM: PUFFLE_ITEM_SLOTS,
}


class CatalogItem(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")  # also a field name: inventory.<id>
    name: str = Field(min_length=1, max_length=60)
    type: ItemType
    slot: str
    price: int = Field(ge=0, le=MAX_AMOUNT, strict=True)
    for_sale: bool = True
    starter: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.slot not in _SLOTS_BY_TYPE[self.type]:
            allowed = ", ".join(_SLOTS_BY_TYPE[self.type])
            raise ValueError(f"slot {self.slot!r} does not fit a {self.type}; use one of {allowed}")
        if self.starter and (self.for_sale or self.type == ItemType.PUFFLE_ITEM):
            raise ValueError("a starter item is a cosmetic or mount that is not for sale")
        if self.for_sale and self.price == 0:
            raise ValueError("an item for sale needs a price above zero")
        return self

    @property
    def consumable(self) -> bool:
        return self.type == ItemType.PUFFLE_ITEM

    @property
    def owned_field(self) -> str:
        """Where ownership is stored on the user document."""
        if self.type == ItemType.MOUNT:
            return "unlockedMounts"
        if self.type == ItemType.COSMETIC:
            return "unlockedCosmetics"
        return f"inventory.{self.id}"

    def public(self) -> dict[str, Any]:
        """The item as the `catalog` message lists it (camelCase)."""
        return self.model_dump(by_alias=True, mode="json")


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    items: list[CatalogItem]


class Catalog:
    """The items by id, in file order."""

    def __init__(self, items: Iterable[CatalogItem]) -> None:
        self._items: dict[str, CatalogItem] = {}
        for item in items:
            if item.id in self._items:
                raise CatalogError(f"item id {item.id!r} appears twice")
            self._items[item.id] = item

    def __iter__(self) -> Iterator[CatalogItem]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def get(self, item_id: str) -> CatalogItem | None:
        return self._items.get(item_id)

    def for_sale(self) -> list[CatalogItem]:
        return [item for item in self if item.for_sale]

    def public(self) -> list[dict[str, Any]]:
        return [item.public() for item in self]


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalogue (default: the packaged items.json).

    Raises CatalogError naming the file and the first problem.
    """
    source = path or resources.files("clubpengu").joinpath("data", "items.json")
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
        return Catalog(_CatalogFile.model_validate(raw).items)
    except (OSError, ValueError) as error:
        raise CatalogError(f"{source}: {_first_problem(error)}") from None


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"])
        return f"{where}: {problem['msg']}"
    return str(error)
