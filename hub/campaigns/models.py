"""Campaigns: what is promoted, when and where, with the ops approval flow."""

from enum import StrEnum

from tortoise import fields

from hub.modelbase import TimestampedModel


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
    channels = fields.JSONField(default=list)
    budget_fen = fields.BigIntField(null=True)
    products = fields.ManyToManyField("hub.Product", related_name=False, through="campaign_product")
    drafted_by = fields.ForeignKeyField("hub.ApiKey", related_name=False, on_delete=fields.RESTRICT)
    approved_by = fields.ForeignKeyField(
        "hub.ApiKey", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    approved_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "campaign"
