"""Store staff: who shares codes, adds customers on WeCom and redeems coupons."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields

from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from hub.stores.models import Store


class StaffRole(StrEnum):
    CLERK = "clerk"  # 店员
    MANAGER = "manager"  # 店长
    MANAGER_ON_DUTY = "supervisor"  # 值班长


class Staff(TimestampedModel):
    id = fields.IntField(primary_key=True)
    staff_no = fields.CharField(max_length=32, unique=True)  # 工号
    name = fields.CharField(max_length=64)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "hub.Store", related_name="staff", on_delete=fields.RESTRICT
    )
    store_id: int
    role = fields.CharEnumField(StaffRole, max_length=16, default=StaffRole.CLERK)
    wecom_userid = fields.CharField(max_length=64, unique=True, null=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "staff"
