"""Coupon batches: drafting, the four-eyes approval, pause / resume / end, and the stock size.

Every change is one conditional UPDATE whose row count decides, as for campaigns: of two callers racing
for the same transition one wins and the other gets a 409. The quantity is changed by compare-and-set on
the value the caller last saw, so a change based on a stale screen is refused rather than applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from tortoise.expressions import F
from tortoise.models import Model
from tortoise.queryset import QuerySet

from coupons.models import BatchKind, BatchStatus, CouponBatch
from hub import clock
from hub.campaigns.models import Campaign
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.pagination import filter_given
from hub.products.models import Product
from hub.regions.models import Region
from hub.stores.models import Store

DRAFT, APPROVED, ACTIVE, PAUSED, ENDED = (BatchStatus.DRAFT, BatchStatus.APPROVED, BatchStatus.ACTIVE,
                                          BatchStatus.PAUSED, BatchStatus.ENDED)


class BatchNotFound(NotFound):
    title = "Coupon batch not found"


class BatchWrongStatus(Conflict):
    title = "The coupon batch is not in a status that allows this"


class OwnBatchApprovalForbidden(Forbidden):
    title = "A coupon batch needs a second pair of eyes"


class StaleQuantity(Conflict):
    title = "The quantity changed meanwhile"


async def get_batch(*, batch_id: int) -> CouponBatch:
    batch = await CouponBatch.get_or_none(id=batch_id)
    if batch is None:
        raise BatchNotFound(f"No coupon batch {batch_id}")
    return batch


def list_batches(*, status: BatchStatus | None = None, campaign_id: int | None = None) -> QuerySet:
    return filter_given(CouponBatch.all(), status=status, campaign_id=campaign_id)


def _check_rules(values: dict[str, Any]) -> None:
    """The rules a batch must satisfy whatever its kind; each refusal names the field to fix."""
    kind = values["kind"]
    if kind == BatchKind.DISCOUNT:
        if values.get("discount_percent") is None:
            raise InvalidInput.field("discount_percent", "is required for a discount batch")
    elif values.get("discount_percent") is not None or values.get("discount_cap_fen") is not None:
        raise InvalidInput.field("discount_percent", "only a discount batch takes a percentage and a cap")
    if kind != BatchKind.DISCOUNT and values.get("face_value_fen", 0) <= 0:
        raise InvalidInput.field("face_value_fen", f"a {kind.value} batch needs a face value")
    if kind == BatchKind.THRESHOLD and values.get("min_spend_fen", 0) <= values.get("face_value_fen", 0):
        raise InvalidInput.field("min_spend_fen", "must exceed the face value for a threshold batch")
    fixed = values.get("valid_from") is not None or values.get("valid_until") is not None
    if fixed == (values.get("valid_days") is not None):
        raise InvalidInput.field("valid_days", "give either valid_from and valid_until, or valid_days")
    if values.get("valid_start_days") and values.get("valid_days") is None:
        raise InvalidInput.field("valid_start_days", "a delayed start goes with valid_days, not a fixed window")
    if fixed and (values.get("valid_from") is None or values.get("valid_until") is None
                  or values["valid_until"] <= values["valid_from"]):
        raise InvalidInput.field("valid_until", "must come with valid_from and be after it")
    for start, end in values.get("usable_hours", []):
        if start >= end:
            raise InvalidInput.field("usable_hours", f"the window {start}-{end} must end after it starts")
    _check_budget(kind=kind, face_value_fen=values.get("face_value_fen", 0), budget_fen=values.get("budget_fen"),
                  quantity=values["total_quantity"])


def _check_budget(*, kind: BatchKind, face_value_fen: int, budget_fen: int | None, quantity: int) -> None:
    """A batch whose every coupon is worth a known face value may not promise more than its budget.

    (A discount coupon's worth depends on the spend, so its budget is kept at redemption instead:
    ``coupons.redemptions`` takes each discount from it.)
    """
    if budget_fen is not None and kind != BatchKind.DISCOUNT and quantity * face_value_fen > budget_fen:
        raise InvalidInput.field("total_quantity", f"{quantity} coupons of {face_value_fen} fen exceed "
                                                   f"the budget of {budget_fen} fen")


async def create_batch(*, created_by_id: int, campaign_id: int | None = None, **values: Any) -> CouponBatch:
    """A new draft; the key that drafts it may never approve it."""
    _check_rules(values)
    if campaign_id is not None and not await Campaign.exists(id=campaign_id):
        raise InvalidInput.field("campaign_id", f"no campaign {campaign_id}")
    await _check_exist(Store, values.get("store_ids", []), field="store_ids")
    await _check_exist(Region, values.get("region_ids", []), field="region_ids")
    await _check_exist(Product, values.get("product_ids", []), field="product_ids")
    return await CouponBatch.create(**values, campaign_id=campaign_id, created_by_id=created_by_id)


async def _check_exist(model: type[Model], ids: list[int], *, field: str) -> None:
    """A scope naming a store or region that does not exist would silently match nothing: refuse it."""
    found = set(cast(list[int], await model.filter(id__in=ids).values_list("id", flat=True))) if ids else set()
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise InvalidInput.field(field, f"no such id: {', '.join(missing[:20])}")


async def _move(*, batch_id: int, allowed: Iterable[BatchStatus], to: BatchStatus, verb: str,
                extra_filter: dict[str, Any] | None = None, **stamps: Any) -> CouponBatch:
    """The conditional UPDATE behind every status change."""
    allowed = list(allowed)
    count = await CouponBatch.filter(id=batch_id, status__in=allowed, **(extra_filter or {})).update(
        status=to, version=F("version") + 1, updated_at=clock.now(), **stamps)
    batch = await get_batch(batch_id=batch_id)
    if not count:
        if extra_filter and batch.status in allowed:  # only the extra filter refused it: the approver is the author
            raise OwnBatchApprovalForbidden(
                f"Coupon batch {batch_id} was drafted with this key; another ops key must approve it")
        names = " or ".join(s.value for s in allowed)
        article = "an" if names[0] in "aeiou" else "a"  # "an approved batch", "a draft batch"
        raise BatchWrongStatus(
            f"Coupon batch {batch_id} is {batch.status.value}; only {article} {names} batch can be {verb}")
    return batch


async def approve_batch(*, batch_id: int, approver_id: int) -> CouponBatch:
    """draft → approved, by a key other than the author."""
    return await _move(batch_id=batch_id, allowed=[DRAFT], to=APPROVED, verb="approved",
                       extra_filter={"created_by_id__not": approver_id}, approved_by_id=approver_id,
                       approved_at=clock.now())


async def activate_batch(*, batch_id: int) -> CouponBatch:
    """approved → active: customers can claim from now on."""
    await _check_partner_codes(batch_id)
    return await _move(batch_id=batch_id, allowed=[APPROVED], to=ACTIVE, verb="activated")


async def _check_partner_codes(batch_id: int) -> None:
    """An equity batch needs a free partner code for every coupon it may still hand out: checked whenever
    it opens for claims or its stock grows, in the caller's transaction (a refusal rolls the change back)."""
    from coupons.partner_codes.service import check_covers_stock

    await check_covers_stock(batch_id=batch_id)


async def pause_batch(*, batch_id: int) -> CouponBatch:
    """active → paused: no more claims; coupons already claimed stay usable."""
    return await _move(batch_id=batch_id, allowed=[ACTIVE], to=PAUSED, verb="paused")


async def resume_batch(*, batch_id: int) -> CouponBatch:
    await _check_partner_codes(batch_id)
    return await _move(batch_id=batch_id, allowed=[PAUSED], to=ACTIVE, verb="resumed")


async def end_batch(*, batch_id: int) -> CouponBatch:
    """Any status → ended, for good: no more claims; claimed coupons stay usable until they expire."""
    return await _move(batch_id=batch_id, allowed=[DRAFT, APPROVED, ACTIVE, PAUSED], to=ENDED, verb="ended")


async def set_quantity(*, batch_id: int, expected: int, quantity: int) -> CouponBatch:
    """Compare-and-set the stock: applies only while it still is ``expected`` and not below what was issued."""
    batch = await get_batch(batch_id=batch_id)
    _check_budget(kind=batch.kind, face_value_fen=batch.face_value_fen, budget_fen=batch.budget_fen,
                  quantity=quantity)
    count = await CouponBatch.filter(
        id=batch_id, total_quantity=expected, issued_count__lte=quantity, status__not=ENDED
    ).update(total_quantity=quantity, version=F("version") + 1, updated_at=clock.now())
    if count:
        if batch.kind == BatchKind.EQUITY:
            await _check_partner_codes(batch_id)
        return await get_batch(batch_id=batch_id)
    batch = await get_batch(batch_id=batch_id)
    if batch.status == ENDED:
        raise BatchWrongStatus(f"Coupon batch {batch_id} has ended")
    if batch.total_quantity != expected:
        raise StaleQuantity(f"Coupon batch {batch_id} holds {batch.total_quantity}, not {expected}; reload and retry")
    raise InvalidInput.field("total_quantity", f"{batch.issued_count} coupons are already issued")
