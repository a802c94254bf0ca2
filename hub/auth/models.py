"""API keys: only a hash of the secret is stored; the prefix is shown so people can recognise a key."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from hub.staff.models import Staff
    from hub.stores.models import Store


class Role(StrEnum):
    STAFF = "staff"
    STORE_MANAGER = "store_manager"
    OPS = "ops"
    ADMIN = "admin"
    STRATEGY_ENGINE = "strategy_engine"
    CARRIER_APP = "carrier_app"
    POS = "pos"
    ORDER_CENTER = "order_center"  # the carrier's order system: refunds return coupons (退券)


STORE_SCOPED_ROLES = frozenset({Role.STAFF, Role.STORE_MANAGER})


class ApiKey(Model):
    id = fields.BigIntField(primary_key=True)
    prefix = fields.CharField(max_length=16, unique=True)
    secret_hash = fields.CharField(max_length=64)
    role = fields.CharEnumField(Role, max_length=20)
    name = fields.CharField(max_length=100, default="")
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "hub.Store", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    store_id: int | None
    staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "hub.Staff", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    staff_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
