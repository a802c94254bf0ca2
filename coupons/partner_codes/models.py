"""An equity batch's pool of the partner's own codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from coupons.models import Coupon, CouponBatch


# An equity batch's codes as the partner delivered them (a video membership's redemption codes, say). The
# batch's stock is the pool: each claim or issue takes one free row (coupon_id set once, never cleared).
class PartnerCode(Model):
    id = fields.BigIntField(primary_key=True)
    batch: fields.ForeignKeyRelation[CouponBatch] = fields.ForeignKeyField(
        "hub.CouponBatch", related_name=False, on_delete=fields.RESTRICT
    )
    batch_id: int
    code = fields.CharField(max_length=128)
    coupon: fields.ForeignKeyNullableRelation[Coupon] = fields.ForeignKeyField(
        "hub.Coupon", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    coupon_id: int | None
    source = fields.CharField(max_length=200, default="")  # the file it came in, for ops tracing a code back
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "coupon_partner_code"
        unique_together = (("batch", "code"),)
        indexes = (("batch_id", "coupon_id"),)
