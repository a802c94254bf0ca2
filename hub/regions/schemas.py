from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel

from hub.regions.models import RegionLevel
from hub.schemas import Code, Out, OutTime, Text


class RegionIn(BaseModel):
    code: Code
    name: Annotated[str, Text(64)]
    level: RegionLevel
    parent_code: Code | None = None


class RegionPatch(BaseModel):
    name: Annotated[str, Text(64)] | None = None


class RegionOut(Out):
    id: int
    code: str
    name: str
    level: RegionLevel
    parent_id: int | None
    created_at: OutTime
    updated_at: OutTime
