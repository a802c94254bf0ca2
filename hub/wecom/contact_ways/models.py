"""Who shares a store's contact-me code, and how many customers each member got through it per day.

Store codes are shared by their ``ContactWayMember`` rows, subject to a per-staff daily add cap counted in
``ContactAddCount`` (days in Asia/Shanghai). The way itself (``ContactWay``) is in ``hub.wecom.models``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from hub.staff.models import Staff
    from hub.wecom.models import ContactWay


class ContactWayMember(Model):
    id = fields.IntField(primary_key=True)
    contact_way: fields.ForeignKeyRelation[ContactWay] = fields.ForeignKeyField(
        "hub.ContactWay", related_name="members", on_delete=fields.CASCADE
    )
    contact_way_id: int
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "hub.Staff", related_name=False, on_delete=fields.CASCADE
    )
    staff_id: int
    backup = fields.BooleanField(default=False)  # used only when no regular member is eligible
    # Weekly on-duty hours in Shanghai time: {"1": [["09:00", "18:00"]], …, "7": […]}, 1 = Monday.
    # Empty = always on duty.
    duty_hours: fields.JSONField[dict[str, list[list[str]]]] = fields.JSONField(default=dict)

    class Meta:
        table = "wecom_contact_way_member"
        unique_together = (("contact_way", "staff"),)


class ContactAddCount(Model):
    id = fields.BigIntField(primary_key=True)
    contact_way: fields.ForeignKeyRelation[ContactWay] = fields.ForeignKeyField(
        "hub.ContactWay", related_name=False, on_delete=fields.CASCADE
    )
    contact_way_id: int
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "hub.Staff", related_name=False, on_delete=fields.CASCADE
    )
    staff_id: int
    day = fields.DateField()  # Asia/Shanghai
    adds = fields.IntField(default=0)

    class Meta:
        table = "wecom_contact_add_count"
        unique_together = (("contact_way", "staff", "day"),)
