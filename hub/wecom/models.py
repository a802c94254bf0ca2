"""WeCom customer contact: who added whom, and through which contact-me code. The tables several
sub-packages of ``hub.wecom`` (and the staff pages and coupon reminders) read.

``StaffContact`` is the staff ↔ customer relationship (ARCHITECTURE.md §3). ``ContactWay`` is the
contact-me ("联系我") setting behind a staff or store code whose target is WeCom; its ``config_id`` and
``qr_code`` live on the code itself. Store codes are shared by their members and capped per staff member
and day (``hub.wecom.contact_ways.models``); corp tags are cached in ``hub.wecom.tags.models``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields

from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from hub.campaigns.models import Campaign
    from hub.codes.models import Code
    from hub.customers.models import Customer
    from hub.staff.models import Staff
    from hub.stores.models import Store


class ContactStatus(StrEnum):
    ACTIVE = "active"  # both sides hold the contact
    HALF = "half"  # add_half_external_contact: the customer added the staff member, not yet accepted
    # WeCom (path/92130): del_follow_user = the customer deleted the staff member; del_external_contact =
    # the staff member deleted the customer (Source DELETE_BY_TRANSFER: moved on to another staff member).
    REMOVED_BY_CUSTOMER = "removed_by_customer"  # del_follow_user
    LOST = "lost"  # del_external_contact: the staff member removed the customer; the store manager is told
    TRANSFERRED = "transferred"  # del_external_contact with Source DELETE_BY_TRANSFER


class StaffContact(TimestampedModel):
    id = fields.BigIntField(primary_key=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "hub.Staff", related_name=False, on_delete=fields.RESTRICT
    )
    staff_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "hub.Customer", related_name=False, on_delete=fields.RESTRICT
    )
    customer_id: int
    external_userid = fields.CharField(max_length=64)
    status = fields.CharEnumField(ContactStatus, max_length=24, default=ContactStatus.ACTIVE)
    added_at = fields.DatetimeField()
    removed_at = fields.DatetimeField(null=True)
    # Attribution of the add: the code whose State came back (null when it matched none), its store
    # (else the staff member's) and campaign.
    code: fields.ForeignKeyNullableRelation[Code] = fields.ForeignKeyField(
        "hub.Code", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    code_id: int | None
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "hub.Store", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    store_id: int | None
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "hub.Campaign", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    campaign_id: int | None
    wecom_state = fields.CharField(max_length=32, default="")
    welcome = fields.CharField(max_length=32, default="")  # sent | expired | used | failed | none
    remark = fields.CharField(max_length=64, default="")

    class Meta:
        table = "staff_contact"
        unique_together = (("staff", "external_userid"),)
        indexes = (("staff_id", "added_at"), ("store_id", "added_at"), ("customer_id",))


class ContactWayStatus(StrEnum):
    PENDING = "pending"  # WeCom does not have the latest setting yet; a job is on it
    SYNCED = "synced"
    FAILED = "failed"  # the last try failed for good; last_error says why
    DELETED = "deleted"  # the code was disabled and WeCom's contact way deleted


class ContactWay(TimestampedModel):
    id = fields.IntField(primary_key=True)
    code: fields.OneToOneRelation[Code] = fields.OneToOneField(
        "hub.Code", related_name=False, on_delete=fields.RESTRICT
    )
    code_id: int
    way_type = fields.IntField()  # 1 = one staff member (staff code), 2 = several (store code)
    state = fields.CharField(max_length=30, unique=True)  # comes back in the add callback
    skip_verify = fields.BooleanField(default=True)
    welcome_text = fields.CharField(max_length=1000, default="")  # "" = the hub's default greeting
    welcome_link_url = fields.CharField(max_length=1000, default="")
    welcome_link_title = fields.CharField(max_length=64, default="")
    # A coupon batch whose claim link the welcome carries (a coupons.CouponBatch id; not a foreign key so
    # the WeCom tables stay free of the coupon ones). Null = no coupon.
    welcome_coupon_batch_id = fields.IntField(null=True)
    # Corp tags marked on every customer added through the code.
    tag_names: fields.JSONField[list[str]] = fields.JSONField(default=list)
    daily_cap = fields.IntField(null=True)  # adds per staff member per Shanghai day; null = no cap
    applied_userids: fields.JSONField[list[str]] = fields.JSONField(default=list)  # the user list WeCom has now
    status = fields.CharEnumField(ContactWayStatus, max_length=16, default=ContactWayStatus.PENDING)
    last_error = fields.CharField(max_length=255, default="")
    synced_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)  # bumped on every change of the setting; the sync job compares it

    class Meta:
        table = "wecom_contact_way"
