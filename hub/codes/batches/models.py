"""A batch of codes made by job, and its items: the state the API process and every worker share."""

from tortoise import fields
from tortoise.models import Model

from hub.codes.models import BatchPer, BatchStatus
from hub.modelbase import TimestampedModel


# A batch of codes made by job (hub.codes.batches.service): scope, progress and outcome, in the database so
# the API process and any worker see the same batch. Its images are CodeBatchItem rows.
class CodeBatch(TimestampedModel):
    id = fields.CharField(max_length=32, primary_key=True)  # uuid4 hex, the id in the batch's URLs
    per = fields.CharEnumField(BatchPer, max_length=16)
    store = fields.ForeignKeyField("hub.Store", null=True, related_name=False, on_delete=fields.RESTRICT)
    region = fields.ForeignKeyField("hub.Region", null=True, related_name=False, on_delete=fields.RESTRICT)
    status = fields.CharEnumField(BatchStatus, max_length=16, default=BatchStatus.QUEUED)
    total = fields.IntField(default=0)
    done = fields.IntField(default=0)
    created = fields.IntField(default=0)
    reused = fields.IntField(default=0)
    skipped_inactive = fields.IntField(default=0)
    error = fields.CharField(max_length=500, default="")
    created_by = fields.ForeignKeyField("hub.ApiKey", null=True, related_name=False, on_delete=fields.SET_NULL)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "code_batch"


# One code of a batch: what the manifest says of it (JSON) and, once drawn, its QR and card PNGs.
class CodeBatchItem(Model):
    id = fields.BigIntField(primary_key=True)
    batch = fields.ForeignKeyField("hub.CodeBatch", related_name=False, on_delete=fields.CASCADE)
    seq = fields.IntField()
    item = fields.JSONField()
    qr_png = fields.BinaryField(null=True)
    card_png = fields.BinaryField(null=True)

    class Meta:
        table = "code_batch_item"
        unique_together = (("batch", "seq"),)
