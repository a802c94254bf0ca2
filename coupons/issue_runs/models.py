"""Issue runs: a list of customers each issued a coupon by job, for an offer."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from coupons.models import Coupon, CouponBatch
    from hub.auth.models import ApiKey


class IssueRunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"


# One request to issue coupons of a batch to a list of customers, for an offer of the strategy engine or an
# ops campaign; (batch, offer_ref) is unique, so the engine sending the same offer twice gets the first run.
class CouponIssueRun(Model):
    id = fields.BigIntField(primary_key=True)
    batch: fields.ForeignKeyRelation[CouponBatch] = fields.ForeignKeyField(
        "hub.CouponBatch", related_name=False, on_delete=fields.RESTRICT
    )
    batch_id: int
    offer_ref = fields.CharField(max_length=64)
    # What the run was asked (channel and customer list), so the same offer_ref asked again for another list is
    # refused instead of silently answered with this run; empty on runs made before it was kept.
    request_hash = fields.CharField(max_length=64, default="")
    channel = fields.CharField(max_length=16)
    total = fields.IntField()
    status = fields.CharEnumField(IssueRunStatus, max_length=16, default=IssueRunStatus.RUNNING)
    created_by: fields.ForeignKeyRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", related_name=False, on_delete=fields.RESTRICT
    )
    created_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "coupon_issue_run"
        unique_together = (("batch", "offer_ref"),)


# What the run did for one customer: "issued" (with the coupon) or the reason it was skipped. Written in
# the transaction that issued, so a redelivered chunk finds its customers done and does nothing twice.
class CouponIssueResult(Model):
    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[CouponIssueRun] = fields.ForeignKeyField(
        "hub.CouponIssueRun", related_name=False, on_delete=fields.RESTRICT
    )
    run_id: int
    customer_id = fields.BigIntField()
    outcome = fields.CharField(max_length=128)
    coupon: fields.ForeignKeyNullableRelation[Coupon] = fields.ForeignKeyField(
        "hub.Coupon", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    coupon_id: int | None

    class Meta:
        table = "coupon_issue_result"
        unique_together = (("run", "customer_id"),)
