"""Funnel events (ARCHITECTURE.md §5), scan rollups, and what we know of each anonymous visitor.

Events are append-only. Figures are read from rollups kept up to date by the writer, never by
counting the event table on a hot path.
"""

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class EventType(StrEnum):
    EXPOSURE = "exposure"
    SCAN = "scan"
    VISIT = "visit"
    PRODUCT_VIEW = "product_view"
    WECOM_ADD = "wecom_add"
    WECOM_REMOVE = "wecom_remove"
    CLAIM = "claim"
    ORDER = "order"
    REDEEM = "redeem"
    REVERSE = "reverse"
    TOUCH_PLANNED = "touch_planned"
    TOUCH_SUPPRESSED = "touch_suppressed"
    TOUCH_SENT = "touch_sent"
    TOUCH_DELIVERED = "touch_delivered"
    TOUCH_FAILED = "touch_failed"
    TOUCH_CLICKED = "touch_clicked"


# One funnel step with its attribution; props holds what only that type needs.
class Event(Model):
    id = fields.BigIntField(primary_key=True)
    type = fields.CharEnumField(EventType, max_length=24)
    occurred_at = fields.DatetimeField(db_index=True)
    customer_id = fields.BigIntField(null=True, db_index=True)
    visitor_id = fields.CharField(max_length=40, null=True, db_index=True)
    code_id = fields.IntField(null=True)
    store_id = fields.IntField(null=True)
    staff_id = fields.IntField(null=True)
    product_id = fields.IntField(null=True)
    campaign_id = fields.IntField(null=True)
    offer_id = fields.BigIntField(null=True)
    channel = fields.CharField(max_length=32, default="")
    counted = fields.BooleanField(default=True)  # false for bots, link previews and orphan scans
    props: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "event"
        indexes = (("code_id", "occurred_at"), ("type", "occurred_at"))


# Scan figures per code per day (Asia/Shanghai), kept by the scan writer with upserts.
class ScanDaily(Model):
    id = fields.BigIntField(primary_key=True)
    code_id = fields.IntField()
    day = fields.DateField(db_index=True)  # ops-wide figures filter by the day range alone
    store_id = fields.IntField(null=True, db_index=True)
    staff_id = fields.IntField(null=True, db_index=True)
    product_id = fields.IntField(null=True)
    campaign_id = fields.IntField(null=True)
    scans = fields.BigIntField(default=0)  # counted (human) scans
    unique_scanners = fields.BigIntField(default=0)  # one per visitor per code per hour
    qr_scans = fields.BigIntField(default=0)
    link_scans = fields.BigIntField(default=0)
    wechat = fields.BigIntField(default=0)
    wecom = fields.BigIntField(default=0)
    other_app = fields.BigIntField(default=0)
    browser = fields.BigIntField(default=0)
    bots = fields.BigIntField(default=0)  # flagged, stored, never counted above

    class Meta:
        table = "scan_daily"
        unique_together = (("code_id", "day"),)


# Which visitor already scanned which code in which hour: makes "unique scanners" exact.
class ScanVisitorHour(Model):
    id = fields.BigIntField(primary_key=True)
    code_id = fields.IntField()
    visitor_id = fields.CharField(max_length=40)
    hour = fields.DatetimeField()

    class Meta:
        table = "scan_visitor_hour"
        unique_together = (("code_id", "visitor_id", "hour"),)


# An anonymous visitor (cookie id): first and last touch, later merged into the customer.
class Visitor(Model):
    id = fields.BigIntField(primary_key=True)
    visitor_id = fields.CharField(max_length=40, unique=True)
    customer_id = fields.BigIntField(null=True, db_index=True)
    first_code_id = fields.IntField(null=True)
    first_at = fields.DatetimeField()
    first_attribution: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    last_code_id = fields.IntField(null=True)
    last_at = fields.DatetimeField()
    last_attribution: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "visitor"
        indexes = (("first_code_id", "first_at"), ("last_code_id", "last_at"))
