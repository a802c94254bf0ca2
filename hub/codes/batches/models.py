"""A batch of codes made by job, and its items: the state the API process and every worker share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from hub.codes.models import BatchPer, BatchStatus
from hub.modelbase import TimestampedModel

if TYPE_CHECKING:
    from hub.auth.models import ApiKey
    from hub.regions.models import Region
    from hub.stores.models import Store


# A batch of codes made by job (hub.codes.batches.service): scope, progress and outcome, in the database so
# the API process and any worker see the same batch. Its images are CodeBatchItem rows.
class CodeBatch(TimestampedModel):
    id = fields.CharField(max_length=32, primary_key=True)  # uuid4 hex, the id in the batch's URLs
    per = fields.CharEnumField(BatchPer, max_length=16)
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "hub.Store", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    store_id: int | None
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "hub.Region", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    region_id: int | None
    status = fields.CharEnumField(BatchStatus, max_length=16, default=BatchStatus.QUEUED)
    total = fields.IntField(default=0)
    done = fields.IntField(default=0)
    created = fields.IntField(default=0)
    reused = fields.IntField(default=0)
    skipped_inactive = fields.IntField(default=0)
    error = fields.CharField(max_length=500, default="")
    created_by: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "code_batch"


# One code of a batch: what the manifest says of it (JSON) and, once drawn, its QR and card PNGs.
class CodeBatchItem(Model):
    id = fields.BigIntField(primary_key=True)
    batch: fields.ForeignKeyRelation[CodeBatch] = fields.ForeignKeyField(
        "hub.CodeBatch", related_name=False, on_delete=fields.CASCADE
    )
    batch_id: str
    seq = fields.IntField()
    item: fields.JSONField[dict[str, Any]] = fields.JSONField()
    qr_png = fields.BinaryField(null=True)
    card_png = fields.BinaryField(null=True)

    class Meta:
        table = "code_batch_item"
        unique_together = (("batch", "seq"),)
