"""What the reconciliation API answers: a run, its counts per class, and its summary per store and day."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from coupons.reconciliation.models import Comparison, LineClass
from hub.schemas import OutTime


class ClassFigures(BaseModel):
    count: int
    file_fen: int  # the amounts the file gives for these lines
    hub_fen: int  # the amounts the hub has for them


class StoreDay(BaseModel):
    store_code: str
    day: date
    comparison: Comparison
    classes: dict[LineClass, ClassFigures]  # only the classes present on that store and day


class ReconciliationOut(BaseModel):
    id: int
    source: str
    period_from: date
    period_to: date
    file_name: str
    file_sha256: str
    pos_file_name: str | None
    pos_file_sha256: str | None
    created_at: OutTime
    counts: dict[Comparison, dict[LineClass, int]]  # per comparison made, every class, zeros included
    stores: list[StoreDay]


class RunListItem(BaseModel):
    """A run in the list: what was reconciled and how it came out, without the per-store summary."""

    model_config = {"from_attributes": True}

    id: int
    source: str
    period_from: date
    period_to: date
    file_name: str
    file_sha256: str
    pos_file_name: str | None
    created_at: OutTime
    counts: dict[Comparison, dict[LineClass, int]]
