"""Reconcile a settlement file against the hub's coupon ledger over a period of Shanghai days, and store
the run with every classified line so it can be shown and exported again.

The hub side is the ledger: ``redeem`` rows whose Shanghai day is in the period, each undone by the
``cancel_redemption`` or ``return`` row that follows it for the same coupon up to the end of the period.
A cancelled redemption is expected nowhere in the file; a returned one as a redemption and a reversal
(see ``matching``).
Undos later than the period are left out, so reconciling a closed period again gives the same answer.

Given a POS journal too (the same CSV shape), the run is three-way: the journal is also compared with the
hub and with the settlement file, each comparison's lines stored under its name.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import cast

from coupons.models import CouponLedger, Operation
from coupons.reconciliation.matching import Entry, Outcome, chain, compare, dedup
from coupons.reconciliation.models import Comparison, LineClass, LineKind, ReconciliationLine, ReconciliationRun
from coupons.reconciliation.parse import SettlementLine, SettlementRejected, parse_settlement
from hub.database import current_unit_of_work
from hub.errors import FieldError, InvalidInput, NotFound
from hub.imports.kinds import fetch_by
from hub.schemas import shanghai_day, shanghai_midnight

MAX_PERIOD_DAYS = 92  # a quarter: settlement periods are days, weeks or months
UNDO = (Operation.CANCEL_REDEMPTION, Operation.RETURN)
CREATE_BATCH = 1_000
DIFFERENCE_COLUMNS = ("comparison", "class", "kind", "day", "store_code", "coupon_code", "amount_file_fen",
                      "amount_hub_fen", "partner_ref", "file_line", "detail")


class RunNotFound(NotFound):
    title = "Reconciliation run not found"


def check_period(period_from: date, period_to: date) -> None:
    if period_to < period_from:
        raise InvalidInput.field("to", "is before from")
    if (period_to - period_from).days >= MAX_PERIOD_DAYS:
        raise InvalidInput.field("to", f"a period is at most {MAX_PERIOD_DAYS} days")


async def run_reconciliation(*, data: bytes, file_name: str, source: str, period_from: date, period_to: date,
                             pos_journal: bytes | None = None, pos_file_name: str | None = None,
                             created_by_id: int | None = None) -> ReconciliationRun:
    """Parse the whole file and the POS journal if given (nothing stored if any line is bad), match them
    and store the run; call it inside ``transaction()``."""
    check_period(period_from, period_to)
    partner, pos = _parse(data, pos_journal, period_from, period_to)
    hub_redemptions, hub_orphans = await hub_side(period_from, period_to)
    outcomes = _comparisons(partner, pos, hub_redemptions, hub_orphans)
    made = [Comparison.PARTNER_HUB] if pos is None else list(Comparison)
    counts = {comparison.value: {c.value: 0 for c in LineClass} for comparison in made}
    for comparison, outcome in outcomes:
        counts[comparison.value][outcome.line_class.value] += 1
    current_unit_of_work()  # the run and its lines are stored together or not at all
    run = await ReconciliationRun.create(
        source=source, period_from=period_from, period_to=period_to, file_name=file_name, file_sha256=sha256(data),
        pos_file_name=pos_file_name if pos_journal is not None else None,
        pos_file_sha256=sha256(pos_journal) if pos_journal is not None else None,
        created_by_id=created_by_id, counts=counts)
    rows = [_line(run.id, comparison, o) for comparison, o in outcomes]
    for start in range(0, len(rows), CREATE_BATCH):
        await ReconciliationLine.bulk_create(rows[start : start + CREATE_BATCH])
    return run


def _parse(data: bytes, pos_journal: bytes | None, period_from: date, period_to: date
           ) -> tuple[list[SettlementLine], list[SettlementLine] | None]:
    """Both files checked before either is refused, so one answer lists every bad line of both; the POS
    journal's fields are named ``pos_journal.<column>``."""
    listed: list[FieldError] = []
    count = 0
    parsed: list[list[SettlementLine] | None] = []
    for prefix, blob in (("", data), ("pos_journal.", pos_journal)):
        try:
            parsed.append(None if blob is None else parse_settlement(blob, period_from=period_from,
                                                                     period_to=period_to))
        except SettlementRejected as exc:
            listed += [e.model_copy(update={"field": prefix + e.field}) for e in exc.errors]
            count += exc.count
    if count:
        raise SettlementRejected(listed, count)
    return parsed[0] or [], parsed[1]


# The matcher names the classes from the settlement file's point of view (file against hub); where the
# POS journal is the file, what the other side lacks or the POS lacks reads differently.
_RENAMED = {
    Comparison.PARTNER_HUB: {},
    Comparison.POS_HUB: {LineClass.MISSING_AT_PARTNER: LineClass.MISSING_IN_POS},
    Comparison.POS_PARTNER: {LineClass.MISSING_IN_HUB: LineClass.MISSING_AT_PARTNER,
                             LineClass.MISSING_AT_PARTNER: LineClass.MISSING_IN_POS},
}


def _comparisons(partner: list[SettlementLine], pos: list[SettlementLine] | None, hub_redemptions: list[Entry],
                 hub_orphans: list[Entry]) -> list[tuple[Comparison, Outcome]]:
    """Every outcome with its comparison, in a fixed order: the file against the hub, then the POS journal
    against the hub and against the file. A repeat within the POS journal is reported once, against the hub."""
    # Each comparison gets entries of its own: chaining a side marks its redemptions' reversals.
    def entries(lines: list[SettlementLine]) -> tuple[list[Entry], list[Outcome]]:
        return dedup([_file_entry(x) for x in lines])

    unique, repeats = entries(partner)
    results = [(Comparison.PARTNER_HUB, repeats + compare(unique, hub_redemptions, hub_orphans))]
    if pos is not None:
        pos_unique, pos_repeats = entries(pos)
        results.append((Comparison.POS_HUB, pos_repeats + compare(pos_unique, hub_redemptions, hub_orphans)))
        partner_redemptions, partner_orphans = chain(sorted(entries(partner)[0], key=lambda e: e.order))
        results.append((Comparison.POS_PARTNER, compare(entries(pos)[0], partner_redemptions, partner_orphans)))
    return [(comparison, replace(o, line_class=_RENAMED[comparison].get(o.line_class, o.line_class)))
            for comparison, outcomes in results for o in sorted(outcomes, key=Outcome.sort_key)]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_entry(line: SettlementLine) -> Entry:
    return Entry(code=line.coupon_code, store_code=line.store_code, day=line.day, amount_fen=line.amount_fen,
                 kind=line.kind, order=(line.day, line.kind != LineKind.REDEMPTION, line.line),
                 partner_ref=line.partner_ref, line=line.line)


def _bounds(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """The period's first instant and the instant after it, in UTC."""
    return shanghai_midnight(period_from), shanghai_midnight(period_to + timedelta(days=1))


async def hub_side(period_from: date, period_to: date) -> tuple[list[Entry], list[Entry]]:
    """(the period's redemptions, with the undo that followed each in the period, and the period's undos of
    redemptions made before it). Whole histories of the coupons touched are read, so pairing is exact."""
    start, end = _bounds(period_from, period_to)
    operations = (Operation.REDEEM, *UNDO)
    touched = cast(list[int], await CouponLedger.filter(
        operation__in=operations, created_at__gte=start, created_at__lt=end
    ).distinct().values_list("coupon_id", flat=True))
    rows = await fetch_by(CouponLedger, "coupon_id", set(touched), "id", "coupon_id", "operation", "created_at",
                          "amount_fen", "detail", "coupon__code", "store__code")
    _code_at_the_time(rows)
    history = sorted((r for r in rows if r["operation"] in operations and r["created_at"] < end),
                     key=lambda r: (r["created_at"], r["id"]))
    redemptions, _ = chain(_hub_entry(r) for r in history)
    in_period = [e for e in redemptions if e.day >= period_from]
    return in_period, [e.reversal for e in redemptions
                       if e.day < period_from and e.reversal is not None and e.reversal.day >= period_from]


def _code_at_the_time(rows: list[dict]) -> None:
    """A gift's accept gives the coupon a new code (``coupons.gifting``), so a redemption before it was
    settled under the old one: walk each coupon's history back from its code now, taking the code before
    each accept, and set every row's ``coupon__code`` to the code it had then."""
    by_coupon: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_coupon[row["coupon_id"]].append(row)
    for history in by_coupon.values():
        history.sort(key=lambda r: r["id"], reverse=True)
        code = history[0]["coupon__code"]
        for row in history:
            row["coupon__code"] = code
            if row["operation"] == Operation.ACCEPT and (row["detail"] or {}).get("code_before"):
                code = row["detail"]["code_before"]


def _hub_entry(row: dict) -> Entry:
    kind = LineKind.REDEMPTION if row["operation"] == Operation.REDEEM else LineKind.REVERSAL
    return Entry(code=row["coupon__code"], store_code=row["store__code"] or "", day=shanghai_day(row["created_at"]),
                 amount_fen=row["amount_fen"] or 0, kind=kind, order=(row["created_at"], row["id"]),
                 cancellation=row["operation"] == Operation.CANCEL_REDEMPTION)


def _line(run_id: int, comparison: Comparison, outcome: Outcome) -> ReconciliationLine:
    shown = outcome.shown
    return ReconciliationLine(
        run_id=run_id, comparison=comparison, line_class=outcome.line_class, kind=outcome.kind, coupon_code=shown.code,
        store_code=shown.store_code, day=shown.day, partner_ref=shown.partner_ref, file_line=shown.line,
        amount_file_fen=outcome.file.amount_fen if outcome.file else None,
        amount_hub_fen=outcome.hub.amount_fen if outcome.hub else None, detail=outcome.detail)


async def get_run(run_id: int) -> ReconciliationRun:
    run = await ReconciliationRun.get_or_none(id=run_id)
    if run is None:
        raise RunNotFound(f"No reconciliation run {run_id}")
    return run


async def summary(run_id: int) -> list[dict]:
    """Per store and day, then comparison: for each class present, the count and the fen on each side."""
    groups: dict[tuple[str, date, str], dict[str, dict[str, int]]] = defaultdict(dict)
    rows = await ReconciliationLine.filter(run_id=run_id).values_list(
        "store_code", "day", "comparison", "line_class", "amount_file_fen", "amount_hub_fen")
    for store_code, day, comparison, line_class, file_fen, hub_fen in rows:
        cell = groups[(store_code, day, comparison)].setdefault(line_class, {"count": 0, "file_fen": 0, "hub_fen": 0})
        cell["count"] += 1
        cell["file_fen"] += file_fen or 0
        cell["hub_fen"] += hub_fen or 0
    order = {c.value: i for i, c in enumerate(Comparison)}
    return [{"store_code": store, "day": day, "comparison": comparison, "classes": dict(sorted(classes.items()))}
            for (store, day, comparison), classes in sorted(groups.items(), key=lambda g: (*g[0][:2], order[g[0][2]]))]


async def differences_csv(run_id: int) -> bytes:
    """Every line of the run that is not matched, in the run's order: CSV in UTF-8 with a BOM, so Excel in
    China opens it right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DIFFERENCE_COLUMNS)
    lines = await ReconciliationLine.filter(run_id=run_id).exclude(line_class=LineClass.MATCHED).order_by("id")
    for x in lines:
        writer.writerow([x.comparison.value, x.line_class.value, x.kind.value, x.day.isoformat(), x.store_code,
                         _text(x.coupon_code), _blank(x.amount_file_fen), _blank(x.amount_hub_fen),
                         _text(x.partner_ref), _blank(x.file_line), _text(x.detail)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _text(value: str) -> str:
    # Partner text starting with = + - @ would run as a formula in Excel; an apostrophe shows it as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _blank(value: int | None) -> str:
    return "" if value is None else str(value)
