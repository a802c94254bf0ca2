"""Expiry reminders: one per coupon, and what came of it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from coupons.models import Coupon
    from hub.staff.models import Staff


class ReminderOutcome(StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"  # no channel may reach the customer (no consent, do-not-disturb, no contact)
    FAILED = "failed"


# One expiry reminder per coupon: which channel carried it, through whom, and what came of it.
class CouponReminder(Model):
    id = fields.BigIntField(primary_key=True)
    coupon: fields.OneToOneRelation[Coupon] = fields.OneToOneField(
        "hub.Coupon", related_name=False, on_delete=fields.RESTRICT
    )
    coupon_id: int
    channel = fields.CharField(max_length=16, default="")
    outcome = fields.CharEnumField(ReminderOutcome, max_length=16)
    reason = fields.CharField(max_length=255, default="")
    staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "hub.Staff", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    staff_id: int | None
    provider_ref = fields.CharField(max_length=128, default="")  # e.g. WeCom's msgid of the message task
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "coupon_reminder"
