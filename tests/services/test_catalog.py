"""The item catalogue: the packaged file is valid, and bad files are refused clearly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clubpengu.services.catalog import (
    COSMETIC_SLOTS,
    PUFFLE_ITEM_SLOTS,
    CatalogError,
    ItemType,
    load_catalog,
)


def test_the_packaged_catalogue_covers_every_slot_and_type() -> None:
    catalog = load_catalog()

    slots = {(item.type, item.slot) for item in catalog}
    assert {(ItemType.COSMETIC, slot) for slot in COSMETIC_SLOTS} <= slots
    assert {(ItemType.PUFFLE_ITEM, slot) for slot in PUFFLE_ITEM_SLOTS} <= slots
    assert any(item.type == ItemType.MOUNT and item.for_sale for item in catalog)
    assert {item.id for item in catalog if item.starter} == {"blue", "none"}


def test_items_are_listed_in_camel_case() -> None:
    red = load_catalog().get("red")

    assert red is not None
    assert red.public() == {
        "id": "red", "name": "Red", "type": "cosmetic", "slot": "color",
        "price": 20, "forSale": True, "starter": False,
    }  # fmt: skip


def _write(tmp_path: Path, *items: dict[str, Any]) -> Path:
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"version": 1, "items": list(items)}))
    return path


HAT = {"id": "hat", "name": "Hat", "type": "cosmetic", "slot": "head", "price": 5, "forSale": True}


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({**HAT, "slot": "food"}, "does not fit"),
        ({**HAT, "type": "mount"}, "does not fit"),
        ({**HAT, "price": 0}, "price above zero"),
        ({**HAT, "price": -1}, "greater than or equal"),
        ({**HAT, "price": True}, "valid integer"),
        ({**HAT, "starter": True}, "starter"),
        ({**HAT, "id": "Bad Id"}, "pattern"),
        ({**HAT, "colour": "x"}, "Extra inputs"),
    ],
)
def test_an_invalid_item_stops_loading_with_its_problem(
    tmp_path: Path, item: dict[str, Any], problem: str
) -> None:
    with pytest.raises(CatalogError, match=problem):
        load_catalog(_write(tmp_path, item))


def test_a_duplicate_id_stops_loading(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="appears twice"):
        load_catalog(_write(tmp_path, HAT, HAT))


def test_a_file_that_is_not_json_stops_loading(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text("{")

    with pytest.raises(CatalogError, match=str(path)):
        load_catalog(path)
