"""Customers, the identities that point at them, and their consent per channel.

Phone numbers are never stored in clear: an identity holds a keyed hash and the customer a masked copy.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields

from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from hub.regions.models import Region
    from hub.stores.models import Store


class IdentityKind(StrEnum):
    PHONE_HASH = "phone_hash"
    APP_USER = "app_user"
    WECOM_EXTERNAL = "wecom_external"
    UNIONID = "unionid"
    H5_ANON = "h5_anon"


class Channel(StrEnum):
    APP = "app"
    SMS = "sms"
    WECOM = "wecom"
    CALL = "call"


class Customer(TimestampedModel):
    id = fields.BigIntField(primary_key=True)
    display_name = fields.CharField(max_length=64, default="")
    phone_masked = fields.CharField(max_length=16, default="")
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "hub.Region", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    region_id: int | None
    home_store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "hub.Store", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    home_store_id: int | None
    do_not_disturb = fields.BooleanField(default=False)  # on the carrier's global 免打扰 list
    merged_into: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "hub.Customer", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    merged_into_id: int | None
    identities: fields.ReverseRelation[Identity]
    channels: fields.ReverseRelation[ChannelConsent]

    class Meta:
        table = "customer"
        # Claims and wallets gather a person's merged customers. (An index, not db_index on the field: altering
        # the field would make SQLite rebuild the table, which its foreign keys refuse on a filled database.)
        indexes = (("merged_into_id",),)


class Identity(TimestampedModel):
    id = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "hub.Customer", related_name="identities", on_delete=fields.CASCADE
    )
    customer_id: int
    kind = fields.CharEnumField(IdentityKind, max_length=16)
    value = fields.CharField(max_length=128)
    verified = fields.BooleanField(default=False)

    class Meta:
        table = "customer_identity"
        unique_together = (("kind", "value"),)


class ChannelConsent(TimestampedModel):
    """Whether a customer may be contacted on a channel, and whether they asked for quiet there."""

    id = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "hub.Customer", related_name="channels", on_delete=fields.CASCADE
    )
    customer_id: int
    channel = fields.CharEnumField(Channel, max_length=16)
    consent = fields.BooleanField(default=True)
    do_not_disturb = fields.BooleanField(default=False)
    source = fields.CharField(max_length=32, default="")

    class Meta:
        table = "customer_channel"
        unique_together = (("customer", "channel"),)
