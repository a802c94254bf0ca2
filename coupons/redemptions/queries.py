"""What a store sees of its redemptions: each redemption with whether it was later undone, and totals per
Shanghai day. Reads only, from the append-only ledger: a cancelled redemption clears the coupon's
``redeemed_*`` columns, so the ledger is the one place every redemption stays visible.

Days are Asia/Shanghai calendar days; Shanghai has kept UTC+8 without daylight saving since 1991, so a day
is always the 24 hours from its local midnight.

Settlement treats the two undos differently, and the totals show it: a same-day cancel (撤销核销) means
the redemption never happened, so it never reaches settlement (``settled_fen`` leaves it out); a return
after a refund (退券) leaves the redemption settled on its day and claws it back on the day of the return
(``clawback_fen``), the reversal line a partner's file shows that day.

The ledger's (store_id, id) and (store_id, created_at) indexes serve the list and the totals; the undo
look-up goes by (coupon_id, id).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from coupons.models import CouponLedger, Operation
from hub.pagination import paginate
from hub.schemas import SHANGHAI, shanghai_midnight

REDEEM, CANCEL, RETURN = Operation.REDEEM.value, Operation.CANCEL_REDEMPTION.value, Operation.RETURN.value
UNDOINGS = (Operation.CANCEL_REDEMPTION, Operation.RETURN)  # the only ways out of redeemed
MAX_DAYS = 92  # a quarter: what a store manager compares, and the bound on the rows one request reads


@dataclass(frozen=True)
class Redemption:
    """A redeem row of the ledger (its coupon joined), and the cancel or return that undid it, if any."""

    entry: CouponLedger
    undone_by: CouponLedger | None


@dataclass(frozen=True)
class DayTotals:
    """One Shanghai day at one store. Each operation counts on the day it happened: a cancel is always on
    the redemption's day; a return (after a refund, days later) on the day of the return, as settled."""

    day: date
    redeemed: int = 0
    redeemed_fen: int = 0
    cancelled: int = 0
    cancelled_fen: int = 0
    returned: int = 0
    returned_fen: int = 0

    @property
    def settled_fen(self) -> int:
        """What settlement owes for this day's redemptions: a cancelled one was never settled."""
        return self.redeemed_fen - self.cancelled_fen

    @property
    def clawback_fen(self) -> int:
        """What settlement takes back this day for coupons returned after a refund, whenever redeemed."""
        return self.returned_fen

    @property
    def net_fen(self) -> int:
        """The discount that stands: what was given, less what cancels and returns took back."""
        return self.redeemed_fen - self.cancelled_fen - self.returned_fen


async def list_redemptions(*, store_id: int | None, day: date | None, limit: int,
                           after: int | None) -> tuple[list[Redemption], int | None]:
    """One page of redemptions, oldest first by ledger id, of one store (``None``: every store) and optionally
    one day; with the ``next_after`` of the following page, if any."""
    query = CouponLedger.filter(operation=Operation.REDEEM).select_related("coupon")
    if store_id is not None:
        query = query.filter(store_id=store_id)
    if day is not None:
        query = query.filter(created_at__gte=shanghai_midnight(day),
                             created_at__lt=shanghai_midnight(day + timedelta(days=1)))
    page = await paginate(query, limit=limit, after=after, to_out=lambda entry: entry)
    undone = await _undoings(page.items)
    return [Redemption(entry=e, undone_by=undone.get(e.id)) for e in page.items], page.next_after


async def _undoings(entries: list[CouponLedger]) -> dict[int, CouponLedger]:
    """For each redeem row, the first cancel or return of the same coupon after it. A coupon leaves redeemed
    only through one of those, so the first one after a redemption is the one that undid it, even when the
    coupon was redeemed again later. One query for the whole page."""
    if not entries:
        return {}
    later = await CouponLedger.filter(coupon_id__in={e.coupon_id for e in entries}, operation__in=UNDOINGS,
                                      id__gt=min(e.id for e in entries)).order_by("id")
    by_coupon: dict[int, list[CouponLedger]] = {}
    for undoing in later:
        by_coupon.setdefault(undoing.coupon_id, []).append(undoing)
    found: dict[int, CouponLedger] = {}
    for entry in entries:
        first = next((u for u in by_coupon.get(entry.coupon_id, []) if u.id > entry.id), None)
        if first is not None:
            found[entry.id] = first
    return found


async def daily_totals(*, store_id: int, day_from: date, day_to: date) -> list[DayTotals]:
    """Every day from ``day_from`` to ``day_to`` inclusive (at most ``MAX_DAYS``, checked by the caller),
    zeros included so a chart needs no gaps filled.

    One query for the whole range, summed here by Shanghai day: grouping by a local day in SQL differs per
    database, and without an index on the time one scan beats one per day. The rows read are one store's
    redemptions, cancels and returns of at most a quarter, three narrow columns each."""
    rows = await CouponLedger.filter(
        store_id=store_id, operation__in=(Operation.REDEEM, *UNDOINGS),
        created_at__gte=shanghai_midnight(day_from), created_at__lt=shanghai_midnight(day_to + timedelta(days=1)),
    ).values_list("operation", "created_at", "amount_fen")
    sums: dict[date, Counter[str]] = {
        day_from + timedelta(days=n): Counter() for n in range((day_to - day_from).days + 1)
    }
    for operation, at, amount_fen in rows:
        day = sums[at.astimezone(SHANGHAI).date()]
        day[operation] += 1
        day[f"{operation}_fen"] += amount_fen or 0
    return [DayTotals(day=day, redeemed=c[REDEEM], redeemed_fen=c[f"{REDEEM}_fen"], cancelled=c[CANCEL],
                      cancelled_fen=c[f"{CANCEL}_fen"], returned=c[RETURN], returned_fen=c[f"{RETURN}_fen"])
            for day, c in sums.items()]
