"""Stores: the carrier's own halls (营业厅) and partner outlets, each in a grid."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from hub.regions.models import Region


class StoreKind(StrEnum):
    HALL = "hall"  # 自有营业厅
    OUTLET = "outlet"  # 社会渠道网点
    FLAGSHIP = "flagship"  # 旗舰店


class Store(TimestampedModel):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(StoreKind, max_length=16, default=StoreKind.HALL)
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "hub.Region", related_name="stores", on_delete=fields.RESTRICT
    )
    region_id: int
    address = fields.CharField(max_length=200, default="")
    phone = fields.CharField(max_length=32, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "store"


# The store's logo, put in the middle of its QR codes: a table of its own so that store queries never
# carry up to 256 KB of image per row.
class StoreLogo(Model):
    id = fields.IntField(primary_key=True)
    store: fields.OneToOneRelation[Store] = fields.OneToOneField(
        "hub.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    png = fields.BinaryField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "store_logo"
