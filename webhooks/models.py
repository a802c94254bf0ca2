"""Inbound callbacks as stored receipts: one row per distinct event, however often it is delivered.

A receipt is written before the sender gets its answer (never 200 without one), under a unique dedup
key, and processed afterwards by a job that claims it; a replayed or concurrent delivery finds the row
and only bumps ``deliveries``.
"""

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class ReceiptStatus(StrEnum):
    PENDING = "pending"  # stored, not yet processed (or a try failed and will be retried)
    PROCESSING = "processing"  # claimed by a job until lease_until
    DONE = "done"
    FAILED = "failed"  # gave up after the job's tries; `hub webhooks replay` puts it back


class WebhookReceipt(Model):
    id = fields.BigIntField(primary_key=True)
    source = fields.CharField(max_length=16)  # "wecom"
    dedup_key = fields.CharField(max_length=255)
    kind = fields.CharField(max_length=64)  # e.g. "change_external_contact/add_external_contact"
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # the decrypted, parsed fields
    received_at = fields.DatetimeField()
    deliveries = fields.IntField(default=1)  # how many times the sender delivered it
    status = fields.CharEnumField(ReceiptStatus, max_length=16, default=ReceiptStatus.PENDING)
    attempts = fields.IntField(default=0)
    lease_until = fields.DatetimeField(null=True)
    processed_at = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=255, default="")

    class Meta:
        table = "webhook_receipt"
        unique_together = (("source", "dedup_key"),)
        indexes = (("status", "received_at"),)
