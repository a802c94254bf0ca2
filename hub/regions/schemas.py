from __future__ import annotations

from pydantic import BaseModel

from hub.regions.models import RegionLevel
from hub.schemas import Code, Out, OutTime, text


class RegionIn(BaseModel):
    code: Code
    name: text(64)
    level: RegionLevel
    parent_code: Code | None = None


class RegionPatch(BaseModel):
    name: text(64) | None = None


class RegionOut(Out):
    id: int
    code: str
    name: str
    level: RegionLevel
    parent_id: int | None
    created_at: OutTime
    updated_at: OutTime
