"""Electronic coupons: batches (the stock and its rules), the coupons issued from them, and the ledger
of every transition a coupon went through."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from hub.auth.models import ApiKey
    from hub.campaigns.models import Campaign
    from hub.customers.models import Customer
    from hub.staff.models import Staff
    from hub.stores.models import Store


class BatchKind(StrEnum):
    CASH = "cash"  # 立减: face value off any spend
    THRESHOLD = "threshold"  # 满减: face value off a spend of at least min_spend_fen
    DISCOUNT = "discount"  # 折扣: a percentage off, capped
    GIFT = "gift"  # 兑换: a product handed over, worth face_value_fen
    EQUITY = "equity"  # 权益: a membership or similar, worth face_value_fen


class BatchStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class CouponState(StrEnum):
    ISSUED = "issued"
    CLAIMED = "claimed"
    LOCKED = "locked"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    VOIDED = "voided"


class CouponChannel(StrEnum):
    STORE = "store"  # at the counter of a store (营业厅), scanned by a POS or staff key
    STOREFRONT = "storefront"
    APP = "app"
    WECOM = "wecom"


class Operation(StrEnum):
    ISSUE = "issue"  # to a known customer, who claims it later (issued → claimed is a CLAIM too)
    CLAIM = "claim"
    LOCK = "lock"
    RELEASE = "release"
    REDEEM = "redeem"
    CANCEL_REDEMPTION = "cancel_redemption"
    RETURN = "return"
    VOID = "void"
    EXPIRE = "expire"
    GIFT = "gift"  # the owner offers the coupon through a share link (the coupon stays claimed)
    ACCEPT = "accept"  # the friend accepts the link: the owner changes
    REVOKE_GIFT = "revoke_gift"  # the owner takes the offer back before it is accepted


# The stock of one offer and every rule its coupons obey. issued_count only grows, by one conditional
# UPDATE per claim or issue, so it never passes total_quantity. Validity is either the fixed window
# (valid_from, valid_until) or valid_days counted from the claim, starting valid_start_days after it. An empty
# scope list means "anywhere"; store_ids and region_ids (a region covers every store beneath it) add up, and
# so do product_ids and categories.
# usable_weekdays (ISO 1 = Monday .. 7) and usable_hours ([["09:00", "21:00"], ...]) are Shanghai time, empty
# meaning "any". A coupon that is not stackable shares an order with no other coupon.
class CouponBatch(TimestampedModel):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(BatchKind, max_length=16)
    face_value_fen = fields.BigIntField(default=0)
    min_spend_fen = fields.BigIntField(default=0)
    discount_percent = fields.SmallIntField(null=True)  # percent off, for kind=discount
    discount_cap_fen = fields.BigIntField(null=True)
    total_quantity = fields.IntField()
    issued_count = fields.IntField(default=0)
    budget_fen = fields.BigIntField(null=True)
    # A discount batch's discounts given so far, taken by a conditional UPDATE per redemption within budget_fen
    # and given back by an undo (other kinds keep to their budget by stock: quantity x face value).
    discount_given_fen = fields.BigIntField(default=0)
    daily_cap = fields.IntField(null=True)
    per_customer_limit = fields.IntField(default=1)
    return_days = fields.IntField(default=7)  # how long after a redemption a refund may return the coupon
    valid_from = fields.DatetimeField(null=True)
    valid_until = fields.DatetimeField(null=True)
    valid_days = fields.IntField(null=True)
    valid_start_days = fields.IntField(default=0)  # with valid_days: the coupon becomes usable M days after claim
    store_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    region_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    categories: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # With categories: a product named or of a category named.
    product_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    channels: fields.JSONField[list[str]] = fields.JSONField(default=list)
    usable_weekdays: fields.JSONField[list[int]] = fields.JSONField(default=list)
    usable_hours: fields.JSONField[list[list[str]]] = fields.JSONField(default=list)
    stackable = fields.BooleanField(default=False)
    transferable = fields.BooleanField(default=True)
    remind_days_before = fields.IntField(null=True)  # remind holders this many days before expiry; null = never
    status = fields.CharEnumField(BatchStatus, max_length=16, default=BatchStatus.DRAFT)
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "hub.Campaign", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    campaign_id: int | None
    created_by: fields.ForeignKeyRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", related_name=False, on_delete=fields.RESTRICT
    )
    created_by_id: int
    approved_by: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    approved_by_id: int | None
    approved_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "coupon_batch"


# Claims of one batch on one Shanghai calendar day, so the daily cap is one conditional UPDATE too.
class CouponBatchDay(Model):
    id = fields.BigIntField(primary_key=True)
    batch: fields.ForeignKeyRelation[CouponBatch] = fields.ForeignKeyField(
        "hub.CouponBatch", related_name=False, on_delete=fields.CASCADE
    )
    batch_id: int
    day = fields.DateField()
    issued = fields.IntField(default=0)

    class Meta:
        table = "coupon_batch_day"
        unique_together = (("batch", "day"),)


# One coupon. Every change of state is an UPDATE guarded by state and version, paired with a ledger row.
class Coupon(TimestampedModel):
    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    batch: fields.ForeignKeyRelation[CouponBatch] = fields.ForeignKeyField(
        "hub.CouponBatch", related_name=False, on_delete=fields.RESTRICT
    )
    batch_id: int
    owner: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "hub.Customer", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    owner_id: int | None
    state = fields.CharEnumField(CouponState, max_length=16)
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    claimed_at = fields.DatetimeField(null=True)
    lock_holder = fields.CharField(max_length=128, null=True)
    lock_until = fields.DatetimeField(null=True)
    redeemed_at = fields.DatetimeField(null=True)
    redeemed_store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "hub.Store", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    redeemed_store_id: int | None
    redeemed_staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "hub.Staff", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    redeemed_staff_id: int | None
    redeemed_order_ref = fields.CharField(max_length=64, null=True)
    redeemed_spend_fen = fields.BigIntField(null=True)
    redeemed_discount_fen = fields.BigIntField(null=True)
    # The touch that brought the claim, carried by later events.
    attribution: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    partner_code = fields.CharField(max_length=128, null=True)  # an equity coupon's code from the partner's file
    reminded_at = fields.DatetimeField(null=True)  # when the expiry reminder was routed; set once
    version = fields.IntField(default=1)

    class Meta:
        table = "coupon"
        # The coupons of one order; the lapsing coupons the expiry and reminder jobs walk.
        indexes = (("owner_id", "batch_id"), ("redeemed_order_ref",), ("state", "valid_until"))


# Append-only: one row per transition, never updated. (operation, request_id) is unique, so a replayed
# request finds its first row and answers with it instead of acting twice.
class CouponLedger(Model):
    id = fields.BigIntField(primary_key=True)
    coupon: fields.ForeignKeyRelation[Coupon] = fields.ForeignKeyField(
        "hub.Coupon", related_name=False, on_delete=fields.RESTRICT
    )
    coupon_id: int
    operation = fields.CharEnumField(Operation, max_length=24)
    from_state = fields.CharEnumField(CouponState, max_length=16, null=True)
    to_state = fields.CharEnumField(CouponState, max_length=16)
    actor_key: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    actor_key_id: int | None
    actor_role = fields.CharField(max_length=20)
    channel = fields.CharField(max_length=16, default="")
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "hub.Store", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    store_id: int | None
    staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "hub.Staff", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    staff_id: int | None
    order_ref = fields.CharField(max_length=64, null=True)
    amount_fen = fields.BigIntField(null=True)
    request_id = fields.CharField(max_length=200)
    # What the columns do not hold, e.g. a gift's share and both owners.
    detail: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "coupon_ledger"
        unique_together = (("operation", "request_id"),)
        # A coupon's history; a store's redemptions page by id and total by day.
        indexes = (("coupon_id", "id"), ("store_id", "id"), ("store_id", "created_at"))


