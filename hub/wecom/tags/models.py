"""The corp tags the hub knows by name (``hub.wecom.tags.service``)."""

from tortoise import fields
from tortoise.models import Model


# Corp tags by name, so a code's tag names turn into WeCom tag ids without a lookup per add.
class WecomTag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    group_name = fields.CharField(max_length=64, default="")
    tag_id = fields.CharField(max_length=64, unique=True)
    synced_at = fields.DatetimeField()

    class Meta:
        table = "wecom_tag"
