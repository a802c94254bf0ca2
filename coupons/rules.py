"""The pure rules of a coupon: what state it is really in right now, where it may be used, and what it is
worth on a given spend. No database access, so every caller applies exactly the same rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from coupons.models import BatchKind, Coupon, CouponBatch, CouponState
from hub.errors import BrokenInvariant, Conflict, InvalidInput, present
from hub.schemas import SHANGHAI

# States whose coupon stops being usable once its validity is over.
LAPSING = frozenset({CouponState.ISSUED, CouponState.CLAIMED, CouponState.LOCKED})


class CouponNotYetValid(Conflict):
    title = "The coupon is not valid yet"


class OutOfScope(InvalidInput):
    title = "The coupon cannot be used here"


class NotUsableNow(InvalidInput):
    title = "The coupon cannot be used at this time"


class MinimumSpendNotMet(InvalidInput):
    title = "The spend is below the coupon's minimum"


def effective_state(coupon: Coupon, now: datetime) -> CouponState:
    """The state as a customer sees it: a lapsed coupon is expired, and a coupon whose lock ran out is
    claimed again, even before the jobs that store this have run."""
    if coupon.state in LAPSING and now >= coupon.valid_until:
        return CouponState.EXPIRED
    if coupon.state == CouponState.LOCKED and now >= present(coupon.lock_until, "a lock sets lock_until"):
        return CouponState.CLAIMED
    return coupon.state


def fixed_window(batch: CouponBatch) -> tuple[datetime, datetime]:
    """(valid_from, valid_until) of a batch without valid_days: such a batch has both ends (batches.service
    refuses a batch with neither valid_days nor the whole window)."""
    if batch.valid_from is None or batch.valid_until is None:
        raise BrokenInvariant(f"coupon batch {batch.id} has neither valid_days nor a fixed window")
    return batch.valid_from, batch.valid_until


def validity_from_claim(batch: CouponBatch, claimed_at: datetime) -> tuple[datetime, datetime]:
    """(valid_from, valid_until) of a coupon claimed now: the batch's fixed window, or N days starting
    ``valid_start_days`` after the claim (a coupon handed out today for use next week)."""
    if batch.valid_days is not None:
        starts = claimed_at + timedelta(days=batch.valid_start_days)
        return starts, starts + timedelta(days=batch.valid_days)
    return fixed_window(batch)


def check_usable(coupon: Coupon, batch: CouponBatch, *, now: datetime, store_id: int, store_regions: frozenset[int],
                 channel: str, category: str | None, spend_fen: int, product_id: int | None = None) -> None:
    """Refuse a redemption outside the coupon's window, scope or minimum spend, naming the field at fault.
    ``store_regions`` are the store's grid and the regions above it (needed only for a region scope)."""
    if now < coupon.valid_from:
        raise CouponNotYetValid(f"Coupon is valid from {coupon.valid_from.astimezone(SHANGHAI).isoformat()}")
    check_usable_time(batch, now)
    if not in_store_scope(batch, store_id=store_id, store_regions=store_regions):
        raise OutOfScope.field("store_id", "the coupon is not valid at this store")
    if batch.channels and channel not in batch.channels:
        raise OutOfScope.field("channel", f"the coupon is valid only on {', '.join(batch.channels)}")
    if (batch.categories or batch.product_ids) and category not in batch.categories \
            and product_id not in batch.product_ids:
        field = "product_id" if batch.product_ids and not batch.categories else "category"
        raise OutOfScope.field(field, "the coupon is valid only for " + _goods(batch))
    if spend_fen < batch.min_spend_fen:
        raise MinimumSpendNotMet.field("spend_fen", f"must be at least {batch.min_spend_fen} fen")


def _goods(batch: CouponBatch) -> str:
    named = [*batch.categories, *(f"product {p}" for p in batch.product_ids)]
    return ", ".join(named)


def needs_store_regions(batch: CouponBatch, store_id: int) -> bool:
    """Whether the store's regions must be looked up to decide its scope (spares the query otherwise)."""
    return bool(batch.region_ids) and store_id not in batch.store_ids


def in_store_scope(batch: CouponBatch, *, store_id: int, store_regions: frozenset[int]) -> bool:
    """A batch scoped to stores and/or regions covers the stores named and every store beneath a region."""
    if not batch.store_ids and not batch.region_ids:
        return True
    return store_id in batch.store_ids or not store_regions.isdisjoint(batch.region_ids)


def check_usable_time(batch: CouponBatch, now: datetime) -> None:
    """Refuse outside the batch's usable weekdays and hours, both read on the Shanghai clock; a window
    [start, end) includes its start minute and not its end."""
    local = now.astimezone(SHANGHAI)
    if batch.usable_weekdays and local.isoweekday() not in batch.usable_weekdays:
        days = ", ".join(str(d) for d in sorted(batch.usable_weekdays))
        raise NotUsableNow.field("usable_weekdays",
                                 f"usable on ISO weekdays {days} only, today is {local.isoweekday()}")
    clock = local.strftime("%H:%M")
    if batch.usable_hours and not any(start <= clock < end for start, end in batch.usable_hours):
        hours = ", ".join(f"{start}-{end}" for start, end in batch.usable_hours)
        raise NotUsableNow.field("usable_hours", f"usable {hours} Shanghai time only, it is {clock}")


def discount_for(batch: CouponBatch, spend_fen: int) -> int:
    """What the coupon takes off ``spend_fen``, in fen: never more than the spend itself."""
    if batch.kind == BatchKind.DISCOUNT:
        off = spend_fen * batch.discount_percent // 100
        return min(off, batch.discount_cap_fen) if batch.discount_cap_fen is not None else off
    if batch.kind in (BatchKind.CASH, BatchKind.THRESHOLD):
        return min(batch.face_value_fen, spend_fen)
    return batch.face_value_fen  # a gift or equity is handed over whole, whatever else is bought
