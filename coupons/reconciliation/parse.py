"""The settlement CSV a partner or the billing system sends, checked whole before anything is matched.

Header (one line, names in any order, case ignored; other columns are ignored, partners add their own):

    date          the Shanghai business day of the line, YYYY-MM-DD (or YYYY/MM/DD, as Excel writes it)
    store_code    the hub's store code
    coupon_code   the coupon code as printed (case, spaces and dashes ignored)
    amount_fen    the discount settled, integer fen
    partner_ref   the partner's own reference of the line
    kind          redemption or reversal

The file is read the way ``hub.imports`` reads uploads (UTF-8 with or without BOM, else GB18030; quoted
cells may span lines) and, like an import, is all or nothing: every bad line is reported with its line
number and field, and a file with any bad line is refused before a run is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ValidationError

from coupons.reconciliation.models import LineKind
from hub.errors import FieldError, InvalidInput
from hub.imports.kinds import Choice, Errors
from hub.imports.service import read_records
from hub.schemas import Code, Fen, Text

COLUMNS = ("date", "store_code", "coupon_code", "amount_fen", "partner_ref", "kind")


def _dashed(value: Any) -> Any:
    return value.strip().replace("/", "-") if isinstance(value, str) else value


def _code(value: Any) -> Any:
    return value.strip().upper().replace("-", "").replace(" ", "") if isinstance(value, str) else value


class _Row(BaseModel):
    date: Annotated[date, BeforeValidator(_dashed)]
    store_code: Code
    coupon_code: Annotated[str, Text(40), BeforeValidator(_code)]
    amount_fen: Fen
    partner_ref: Annotated[str, Text(64)]
    kind: Choice[LineKind]


@dataclass(frozen=True)
class SettlementLine:
    line: int
    day: date
    store_code: str
    coupon_code: str
    amount_fen: int
    partner_ref: str
    kind: LineKind


class SettlementRejected(InvalidInput):
    title = "The settlement file has invalid lines; nothing was reconciled"

    def __init__(self, listed: list[FieldError], count: int) -> None:
        more = f"; the first {len(listed)} are listed" if count > len(listed) else ""
        super().__init__(f"{count} error(s) in the file{more}", errors=listed)
        self.count = count

    @classmethod
    def of(cls, errors: Errors) -> SettlementRejected:
        return cls(errors.first(), errors.count)


def parse_settlement(data: bytes, *, period_from: date, period_to: date) -> list[SettlementLine]:
    """Every line of the file, in file order; raises SettlementRejected listing every bad line, or when a
    line's day falls outside the period the file is reconciled for."""
    errors = Errors()
    records = read_records(data, errors)
    if errors:
        raise SettlementRejected.of(errors)
    (header_line, header), records = records[0], records[1:]
    names = [h.strip().lower() for h in header]
    for column in COLUMNS:
        if column not in names:
            errors.add(header_line, column, "missing column")
    if errors:
        raise SettlementRejected.of(errors)
    position = {column: names.index(column) for column in COLUMNS}
    lines = []
    for line, cells in records:
        raw = {c: cells[i] if i < len(cells) else "" for c, i in position.items()}
        try:
            row = _Row.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors():
                field = str(e["loc"][0]) if e["loc"] else "line"
                errors.add(line, field, "is required" if not raw.get(field, "x").strip() else e["msg"])
            continue
        if not period_from <= row.date <= period_to:
            errors.add(line, "date", f"{row.date} is outside the period {period_from} to {period_to}")
            continue
        lines.append(SettlementLine(line, row.date, row.store_code, row.coupon_code, row.amount_fen,
                                    row.partner_ref, row.kind))
    if errors:
        raise SettlementRejected.of(errors)
    return lines
