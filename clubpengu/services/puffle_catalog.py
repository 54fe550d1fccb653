"""The puffle colours that can be adopted, with their adoption price."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field


class PuffleColor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z_]{1,20}$")
    name: str = Field(min_length=1, max_length=40)
    price: int = Field(ge=0, le=1_000_000, strict=True)


class _PuffleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    colors: list[PuffleColor] = Field(min_length=1)


@dataclass(frozen=True)
class PuffleCatalog:
    colors: dict[str, PuffleColor]

    @classmethod
    def load(cls) -> PuffleCatalog:
        text = resources.files("clubpengu.data").joinpath("puffles.json").read_text()
        parsed = _PuffleFile.model_validate(json.loads(text))
        return cls({color.id: color for color in parsed.colors})
