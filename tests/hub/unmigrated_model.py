"""A model with no migration, used only to prove that the migrations check can fail."""

from tortoise import fields
from tortoise.models import Model


class Unmigrated(Model):
    id = fields.IntField(primary_key=True)

    class Meta:
        table = "unmigrated"
