"""Campaigns: what is promoted, when and where, with the ops approval flow."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields

from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from hub.auth.models import ApiKey
    from hub.products.models import Product


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    RUNNING = "running"
    ENDED = "ended"


class Campaign(TimestampedModel):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    status = fields.CharEnumField(CampaignStatus, max_length=16, default=CampaignStatus.DRAFT)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    channels: fields.JSONField[list[str]] = fields.JSONField(default=list)
    budget_fen = fields.BigIntField(null=True)
    products: fields.ManyToManyRelation[Product] = fields.ManyToManyField(
        "hub.Product", related_name=False, through="campaign_product",  # type: ignore[arg-type]  # False works (no reverse); the stub says str
    )
    drafted_by: fields.ForeignKeyRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", related_name=False, on_delete=fields.RESTRICT
    )
    drafted_by_id: int
    approved_by: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    approved_by_id: int | None
    approved_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "campaign"
