"""The columns every table shares."""

from tortoise import fields
from tortoise.models import Model


class TimestampedModel(Model):
    """Creation and last-change times, stored in UTC."""

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True
