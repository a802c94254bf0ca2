"""Share links: how an owner gives a claimed coupon to a friend."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields

from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from coupons.models import Coupon
    from hub.customers.models import Customer


class ShareStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"  # a pending share past expires_at: so read at once, stored later by a job
    REVOKED = "revoked"


# A single-use link by which the owner gives a claimed coupon to a friend. The token is the link's secret
# (32 random URL-safe symbols). While a share is pending and not past expires_at the coupon can be neither
# redeemed, locked nor shared again; accepting moves the coupon to to_customer.
class CouponShare(TimestampedModel):
    id = fields.BigIntField(primary_key=True)
    coupon: fields.ForeignKeyRelation[Coupon] = fields.ForeignKeyField(
        "hub.Coupon", related_name=False, on_delete=fields.RESTRICT
    )
    coupon_id: int
    token = fields.CharField(max_length=64, unique=True)
    status = fields.CharEnumField(ShareStatus, max_length=16, default=ShareStatus.PENDING)
    expires_at = fields.DatetimeField()
    from_customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "hub.Customer", related_name=False, on_delete=fields.RESTRICT
    )
    from_customer_id: int
    to_customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "hub.Customer", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    to_customer_id: int | None
    accepted_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "coupon_share"
        indexes = (("coupon_id", "status"),)
