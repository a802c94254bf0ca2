"""Stored answers of retried client writes, keyed by the caller and the client's Idempotency-Key."""

from tortoise import fields
from tortoise.models import Model


# One client write's answer. The row is inserted first, as the claim on the key (a concurrent repeat waits on
# its unique index), and filled in with the answer before the same commit (see hub.idempotency.service).
class IdempotencyRecord(Model):
    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=64)  # who asked: the API key's prefix
    key = fields.CharField(max_length=128)
    endpoint = fields.CharField(max_length=200)  # "POST /api/v1/coupons/redemptions": method and route template
    request_hash = fields.CharField(max_length=64)
    status_code = fields.SmallIntField()  # 0 while the claim's transaction runs
    body = fields.TextField(default="")  # the answer's bytes as sent (JSON), replayed as they are
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("scope", "key"),)
