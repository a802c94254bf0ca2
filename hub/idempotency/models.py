"""Stored outcomes of retried client writes, keyed by the client's Idempotency-Key."""

from tortoise import fields
from tortoise.models import Model


class IdempotencyRecord(Model):
    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=64)  # who asked: the API key's prefix
    key = fields.CharField(max_length=128)
    endpoint = fields.CharField(max_length=200)
    request_hash = fields.CharField(max_length=64)
    status_code = fields.SmallIntField()
    response = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("scope", "key"),)
