"""Request and response bodies of the batch routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from coupons.models import BatchKind, BatchStatus, CouponBatch, CouponChannel
from coupons.schemas import (
    HourWindow,
    Quantity,
    Weekday,
    _unique,
)
from hub.products.models import ProductCategory
from hub.schemas import DbId, Fen, InTime, OutTime, Text


class BatchIn(BaseModel):
    """Validity is either ``valid_from`` + ``valid_until`` or ``valid_days`` from the claim (starting
    ``valid_start_days`` after it); empty scope lists mean "anywhere", and stores and regions add up."""

    name: Annotated[str, Text(100)]
    kind: BatchKind
    face_value_fen: Fen = 0
    min_spend_fen: Fen = 0
    discount_percent: int | None = Field(None, ge=1, le=99, description="Percent off, for a discount batch")
    discount_cap_fen: Fen | None = None
    total_quantity: Quantity
    budget_fen: Fen | None = None
    daily_cap: Quantity | None = None
    per_customer_limit: int = Field(1, ge=1, le=1000)
    return_days: int = Field(7, ge=0, le=366, description="Days after a redemption a refund may return it")
    valid_from: InTime | None = None
    valid_until: InTime | None = None
    valid_days: int | None = Field(None, ge=1, le=3660)
    valid_start_days: int = Field(0, ge=0, le=366, description="With valid_days: usable this many days after claim")
    store_ids: Annotated[list[DbId], Field(max_length=1000)] = []
    region_ids: Annotated[list[DbId], Field(max_length=1000, description=(
        "Regions (province, city, county or grid) whose every store may redeem"))] = []
    categories: Annotated[list[ProductCategory], Field(max_length=len(ProductCategory))] = []
    product_ids: Annotated[list[DbId], Field(max_length=1000, description=(
        "Products the coupon is for; with categories, a product named or of a category named"))] = []
    channels: Annotated[list[CouponChannel], Field(max_length=len(CouponChannel))] = []
    usable_weekdays: Annotated[list[Weekday], Field(max_length=7)] = []
    usable_hours: Annotated[list[HourWindow], Field(max_length=12, description=(
        "Windows [start, end) of Shanghai time, such as [\"09:00\", \"21:00\"]; empty means any hour"))] = []
    stackable: bool = Field(False, description="Whether it may share an order with other coupons")
    transferable: bool = Field(True, description="Whether its owner may give it to a friend")
    remind_days_before: int | None = Field(None, ge=1, le=90, description=(
        "Remind each holder this many days before their coupon expires; null = no reminder"))
    campaign_id: DbId | None = None

    @field_validator("store_ids", "region_ids", "product_ids", "categories", "channels", "usable_weekdays")
    @classmethod
    def _unique_lists(cls, value):
        return _unique(value)


class QuantityIn(BaseModel):
    expected: int = Field(ge=0, le=10_000_000, description="The total_quantity you last saw")
    total_quantity: Quantity


class BatchOut(BaseModel):
    id: int
    name: str
    kind: BatchKind
    status: BatchStatus
    face_value_fen: int
    min_spend_fen: int
    discount_percent: int | None
    discount_cap_fen: int | None
    total_quantity: int
    issued_count: int
    budget_fen: int | None
    discount_given_fen: int = Field(description="A discount batch's discounts given so far, kept within budget_fen")
    daily_cap: int | None
    per_customer_limit: int
    return_days: int
    valid_from: OutTime | None
    valid_until: OutTime | None
    valid_days: int | None
    valid_start_days: int
    store_ids: list[int]
    region_ids: list[int]
    categories: list[ProductCategory]
    product_ids: list[int]
    channels: list[CouponChannel]
    usable_weekdays: list[int]
    usable_hours: list[tuple[str, str]]
    stackable: bool
    transferable: bool
    remind_days_before: int | None
    campaign_id: int | None
    approved_at: OutTime | None
    version: int
    created_at: OutTime

    @classmethod
    def of(cls, batch: CouponBatch) -> BatchOut:
        return cls.model_validate(batch, from_attributes=True)
