"""Codes: one-store, one-product, one-person codes, campaign codes and livestream links.

Each code has an unguessable slug behind ``/c/{slug}``, a checked target, and the attribution every
scan and everything after it carries (store, staff, product, campaign, channel). The code table is shared
by every sub-package of ``hub.codes``; a batch's own tables are in ``hub.codes.batches.models``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields

from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from hub.auth.models import ApiKey
    from hub.campaigns.models import Campaign
    from hub.products.models import Product
    from hub.staff.models import Staff
    from hub.stores.models import Store


class CodeKind(StrEnum):
    STORE = "store"  # 一店一码
    PRODUCT = "product"  # 一品一码
    STAFF = "staff"  # 一人一码
    LIVESTREAM = "livestream"  # 直播带货
    CAMPAIGN = "campaign"


class TargetKind(StrEnum):
    STOREFRONT = "storefront"  # our H5 storefront (built by the hub from the attribution)
    WECOM_CONTACT = "wecom_contact"  # the staff member's (or store's) WeCom contact-me code
    LIVESTREAM = "livestream"  # a live room on an allowed livestream host


class Code(TimestampedModel):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=16, unique=True)
    kind = fields.CharEnumField(CodeKind, max_length=16)
    name = fields.CharField(max_length=100, default="")
    target_kind = fields.CharEnumField(TargetKind, max_length=16, default=TargetKind.STOREFRONT)
    target_url = fields.CharField(max_length=1000)
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "hub.Store", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    store_id: int | None
    staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "hub.Staff", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    staff_id: int | None
    product: fields.ForeignKeyNullableRelation[Product] = fields.ForeignKeyField(
        "hub.Product", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    product_id: int | None
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "hub.Campaign", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    campaign_id: int | None
    channel = fields.CharField(max_length=32, default="")
    valid_from = fields.DatetimeField(null=True)
    valid_until = fields.DatetimeField(null=True)
    scan_limit = fields.IntField(null=True)
    scans_counted = fields.BigIntField(default=0)  # human scans so far, kept by the scan writer
    active = fields.BooleanField(default=True)
    tags: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # Livestream links: the live session's window and the products it sells.
    live_starts_at = fields.DatetimeField(null=True)
    live_ends_at = fields.DatetimeField(null=True)
    products: fields.ManyToManyRelation[Product] = fields.ManyToManyField(
        "hub.Product", related_name=False, through="code_product",  # type: ignore[arg-type]  # False works (no reverse); the stub says str
    )
    # Batch generation finds its earlier codes by this key instead of making new ones.
    batch_key = fields.CharField(max_length=200, unique=True, null=True)
    # WeCom contact-me ("contact way") for staff and store codes whose target is WeCom.
    wecom_config_id = fields.CharField(max_length=64, null=True)
    wecom_qr_code = fields.CharField(max_length=500, null=True)
    created_by: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    version = fields.IntField(default=1)  # bumped on every change; caches compare it

    class Meta:
        table = "code"
        indexes = (("store_id", "kind"), ("staff_id", "kind"))


# The batch enums stay here, beside the code's, although their tables live in hub.codes.batches.models:
# migration 0010 imports them from this module, and the API's schema names them by it (BatchStatus is
# also a coupons name, so OpenAPI calls this one hub__codes__models__BatchStatus).
class BatchPer(StrEnum):
    STAFF = "staff"
    PRODUCT = "product"
    STORE = "store"


class BatchStatus(StrEnum):
    QUEUED = "queued"  # waiting for its codes to be made
    RUNNING = "running"  # codes made, images being drawn
    DONE = "done"
    FAILED = "failed"  # a step used up its outbox attempts: `hub outbox replay` runs it again
