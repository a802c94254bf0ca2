"""Reconciliation runs and their classified lines: a run is stored whole, so ops can show it again later."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from hub.auth.models import ApiKey


class LineKind(StrEnum):
    REDEMPTION = "redemption"
    REVERSAL = "reversal"


class LineClass(StrEnum):
    MATCHED = "matched"
    MISSING_IN_HUB = "missing_in_hub"  # the file has it, the hub does not
    MISSING_AT_PARTNER = "missing_at_partner"  # the hub (or the POS journal) has it, the partner's file does not
    MISSING_IN_POS = "missing_in_pos"  # the hub or the partner has it, the POS journal does not
    AMOUNT_DIFFERS = "amount_differs"
    STORE_OR_DAY_DIFFERS = "store_or_day_differs"
    DUPLICATED_IN_FILE = "duplicated_in_file"
    REVERSED_ONE_SIDE_ONLY = "reversed_one_side_only"


class Comparison(StrEnum):
    PARTNER_HUB = "partner_hub"  # the settlement file against the hub
    POS_HUB = "pos_hub"  # the POS journal against the hub, when one is given
    POS_PARTNER = "pos_partner"  # the POS journal against the settlement file


# One reconciliation of a settlement file (and optionally a POS journal) over a period of Shanghai days.
# counts holds, per comparison made, the number of lines of each class, so totals need no scan of lines.
class ReconciliationRun(Model):
    id = fields.BigIntField(primary_key=True)
    source = fields.CharField(max_length=64)
    period_from = fields.DateField()
    period_to = fields.DateField()
    file_name = fields.CharField(max_length=200)
    file_sha256 = fields.CharField(max_length=64)
    pos_file_name = fields.CharField(max_length=200, null=True)
    pos_file_sha256 = fields.CharField(max_length=64, null=True)
    created_by: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "hub.ApiKey", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    counts: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "coupon_reconciliation_run"


# One outcome of a run: a pair of entries that agree or differ, or an entry found on one side only.
# Amounts are fen; a missing side leaves its amount null. In the POS comparisons the POS journal stands
# where the file stands (amount_file_fen, file_line) and the hub or partner where the hub stands.
class ReconciliationLine(Model):
    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[ReconciliationRun] = fields.ForeignKeyField(
        "hub.ReconciliationRun", related_name=False, on_delete=fields.CASCADE
    )
    run_id: int
    comparison = fields.CharEnumField(Comparison, max_length=16)
    line_class = fields.CharEnumField(LineClass, max_length=32)
    coupon_code = fields.CharField(max_length=40)
    store_code = fields.CharField(max_length=32)
    day = fields.DateField()
    amount_file_fen = fields.BigIntField(null=True)
    amount_hub_fen = fields.BigIntField(null=True)
    partner_ref = fields.CharField(max_length=64, default="")
    kind = fields.CharEnumField(LineKind, max_length=16)
    file_line = fields.IntField(null=True)
    detail = fields.CharField(max_length=300, default="")

    class Meta:
        table = "coupon_reconciliation_line"
        indexes = (("run_id", "comparison", "line_class"),)
