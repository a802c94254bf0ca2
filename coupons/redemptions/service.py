"""Redeeming a coupon at a store (核销), and the two ways back: cancelling the redemption the same day at
the store (撤销核销), and returning the coupon after a refund (退券).

Each is one UPDATE guarded by the coupon's state and version (``coupons.ledger.apply``): of 200 tills
scanning one code at once, exactly one moves it from claimed to redeemed, and the others find it changed.
A request that lost to an earlier copy of itself (the same request id) gets that copy's answer, not a 409.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import cast

from tortoise import Tortoise
from tortoise.expressions import F

from coupons import funnel
from coupons.codes import normalise
from coupons.gifting.pending import being_gifted
from coupons.ledger import Actor, Transition, apply, replay, settle
from coupons.models import BatchKind, Coupon, CouponBatch, CouponState, Operation
from coupons.rules import check_usable, discount_for, effective_state, needs_store_regions
from coupons.statements import coupon_for_use
from hub import clock
from hub.database import dialect
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound, present
from hub.products.models import Product
from hub.regions.service import regions_above_store
from hub.schemas import shanghai_day

CLAIMED, LOCKED, REDEEMED, EXPIRED = CouponState.CLAIMED, CouponState.LOCKED, CouponState.REDEEMED, CouponState.EXPIRED


class CouponNotFound(NotFound):
    title = "Coupon not found"


class CouponNotRedeemable(Conflict):
    title = "The coupon cannot be redeemed in its state"


class CouponLocked(Conflict):
    title = "The coupon is held by another transaction"


class CouponNotRedeemed(Conflict):
    title = "The coupon is not redeemed"


class CancelWindowPassed(Conflict):
    title = "A redemption can only be cancelled on the day it was made"


class ReturnWindowPassed(Conflict):
    title = "The time to return this coupon after a refund has passed"


class NotStackable(Conflict):
    title = "The coupon cannot share an order with another coupon"


class BudgetSpent(Conflict):
    title = "The batch's budget for discounts is spent"


class RedeemedElsewhere(Forbidden):
    title = "The coupon was redeemed at another store"


async def coupon_by_code(code: str) -> Coupon:
    """The coupon behind a typed or scanned code; a code failing its check symbol never reaches the table."""
    stored = normalise(code)
    if stored is None:
        raise InvalidInput.field("code", "is not a valid coupon code (check for a typo)")
    coupon = await Coupon.get_or_none(code=stored).select_related("batch")
    if coupon is None:
        raise CouponNotFound("No coupon with this code")
    return coupon


async def usable_by(*, code: str, holder: str | None, operation: Operation, request_id: str, now: datetime,
                    refused: type[Conflict]) -> tuple[Coupon, Transition | None]:
    """The coupon behind ``code`` when ``holder`` may use it now: claimed, or locked by that holder, with no
    share pending; with the earlier answer instead when this request (operation, request id) ran before.
    Any other state raises ``refused``. One statement reads the coupon, its batch, this request's earlier
    ledger row and a pending share: this is the hot path of every redemption and lock."""
    stored = normalise(code)
    if stored is None:
        raise InvalidInput.field("code", "is not a valid coupon code (check for a typo)")
    found = await coupon_for_use(code=stored, operation=operation, request_id=request_id, now=now)
    if found is None:
        raise CouponNotFound("No coupon with this code")
    coupon = found.coupon
    if found.earlier_id is not None:
        earlier = await replay(operation=operation, request_id=request_id, coupon_id=coupon.id)
        if earlier is not None:
            return coupon, earlier
    state = effective_state(coupon, now)
    if state == LOCKED and coupon.lock_holder != holder:
        raise CouponLocked("The coupon is held by another transaction until its lock is released or runs out")
    if state not in (CLAIMED, LOCKED):
        raise refused(f"The coupon is {state.value}")
    if found.pending_share_id is not None:
        raise being_gifted()
    return coupon, None


async def redeem(*, code: str, store_id: int, staff_id: int | None = None, channel: str, spend_fen: int,
                 category: str | None = None, product_id: int | None = None, order_ref: str | None = None,
                 request_id: str, actor: Actor, now: datetime | None = None) -> Transition:
    """Use a claimed coupon on a spend at a store; the ledger row's ``amount_fen`` is the discount given.
    A locked coupon is redeemed only by the transaction holding the lock (``order_ref`` = its holder)."""
    now = now or clock.now()
    coupon, earlier = await usable_by(code=code, holder=order_ref, operation=Operation.REDEEM, request_id=request_id,
                                      now=now, refused=CouponNotRedeemable)
    if earlier is not None:
        return earlier
    batch = coupon.batch
    store_regions = await regions_for_scope(batch, store_id)
    if product_id is not None and category is None:  # the product bought names its category
        category = cast(str | None, await Product.filter(id=product_id).first().values_list("category", flat=True))
    check_usable(coupon, batch, now=now, store_id=store_id, store_regions=store_regions, channel=channel,
                 category=category, product_id=product_id, spend_fen=spend_fen)
    if order_ref is not None:
        await _check_stacking(coupon, order_ref)
    discount = discount_for(batch, spend_fen)
    await _take_from_budget(batch, discount)
    done = await apply(
        coupon, operation=Operation.REDEEM, to_state=REDEEMED, actor=actor, request_id=request_id, now=now,
        guard={"valid_until__gt": now},
        changes={"redeemed_at": now, "redeemed_store_id": store_id, "redeemed_staff_id": staff_id,
                 "redeemed_order_ref": order_ref, "redeemed_spend_fen": spend_fen, "redeemed_discount_fen": discount,
                 "lock_holder": None, "lock_until": None},
        channel=channel, store_id=store_id, staff_id=staff_id, order_ref=order_ref, amount_fen=discount,
        event=funnel.columns)
    return await settle(
        done, operation=Operation.REDEEM, request_id=request_id, coupon=coupon,
        lost=CouponNotRedeemable("The coupon was changed by another request meanwhile"))


async def regions_for_scope(batch: CouponBatch, store_id: int) -> frozenset[int]:
    """The store's regions when the batch's scope needs them to decide (``rules.in_store_scope``), else none:
    the lookup is spared for the usual batch scoped to stores or to nothing."""
    return await regions_above_store(store_id) if needs_store_regions(batch, store_id) else frozenset()


async def _take_from_budget(batch: CouponBatch, discount: int) -> None:
    """A discount batch with a budget gives discounts only while they fit in it: one conditional UPDATE on
    the batch row (so its redemptions queue on that row; other batches never touch it). Rolled back with
    the redemption when that fails, given back by an undo (``_give_back``)."""
    if batch.kind != BatchKind.DISCOUNT or batch.budget_fen is None or discount == 0:
        return
    taken = await CouponBatch.filter(id=batch.id, discount_given_fen__lte=batch.budget_fen - discount).update(
        discount_given_fen=F("discount_given_fen") + discount)
    if not taken:
        raise BudgetSpent(f"A discount of {discount} fen would pass batch {batch.id}'s budget of "
                          f"{batch.budget_fen} fen")


async def _give_back(batch: CouponBatch, discount: int | None) -> None:
    if batch.kind == BatchKind.DISCOUNT and batch.budget_fen is not None and discount:
        await CouponBatch.filter(id=batch.id).update(discount_given_fen=F("discount_given_fen") - discount)


async def _check_stacking(coupon: Coupon, order_ref: str) -> None:
    """Refuse a second coupon on one order unless both it and every coupon already redeemed on the order
    are stackable. Orders are told apart only by ``order_ref``: a redemption without one stacks freely.

    Redemptions carrying one ``order_ref`` are serialised for the rest of the transaction before the order's
    coupons are read, so two coupons of one order redeemed at the very same instant cannot both pass (each
    would see no other). The order has no row to lock: on PostgreSQL this takes a transaction-level advisory
    lock on a 64-bit hash of the order_ref (released by the commit or rollback; a hash collision only makes
    two orders wait for each other), and the second redemption, once it has the lock, reads the first one
    committed. On SQLite the process's one connection runs one transaction at a time, so they already queue
    (``tests/coupons/test_stacking_race.py`` checks both); a transaction of another process that read
    before this one committed cannot write after it (WAL snapshot: "database is locked"), so it fails, and
    never passes as well."""
    await _serialise_order(order_ref)
    others = await Coupon.filter(redeemed_order_ref=order_ref, state=REDEEMED, id__not=coupon.id).select_related(
        "batch")
    if others and (not coupon.batch.stackable or not all(other.batch.stackable for other in others)):
        raise NotStackable(f"Order {order_ref} already has {len(others)} coupon(s) and these do not stack")


async def _serialise_order(order_ref: str) -> None:
    """Wait for, then hold until the transaction ends, the order's advisory lock (PostgreSQL only)."""
    if dialect() != "postgres":
        return
    digest = hashlib.blake2b(f"coupon-order:{order_ref}".encode(), digest_size=8).digest()
    # The connection of the open transaction (Tortoise binds it to this task), so the lock is the transaction's.
    await Tortoise.get_connection("default").execute_query(
        "SELECT pg_advisory_xact_lock($1)", [int.from_bytes(digest, "big", signed=True)])


async def cancel_redemption(*, code: str, store_id: int, order_ref: str | None = None, request_id: str,
                            actor: Actor, now: datetime | None = None) -> Transition:
    """Undo a redemption at the store that made it, on the same Shanghai day (撤销核销): as if it never
    happened, so settlement drops it."""
    now = now or clock.now()
    coupon = await coupon_by_code(code)
    earlier = await replay(operation=Operation.CANCEL_REDEMPTION, request_id=request_id, coupon_id=coupon.id)
    if earlier is not None:
        return earlier
    redeemed_at = _check_undoable(coupon, order_ref=order_ref, now=now)
    if coupon.redeemed_store_id != store_id:
        raise RedeemedElsewhere("Only the store that redeemed the coupon can cancel the redemption")
    if shanghai_day(redeemed_at) != shanghai_day(now):
        raise CancelWindowPassed(f"The coupon was redeemed on {shanghai_day(redeemed_at)}")
    return await _undo(coupon, operation=Operation.CANCEL_REDEMPTION, request_id=request_id, actor=actor, now=now,
                       store_id=store_id)


async def return_coupon(*, code: str, order_ref: str | None = None, request_id: str, actor: Actor,
                        now: datetime | None = None) -> Transition:
    """Give a redeemed coupon back after its order was refunded (退券), within the batch's ``return_days``:
    the redemption stays in settlement and this return is settled against it."""
    now = now or clock.now()
    coupon = await coupon_by_code(code)
    earlier = await replay(operation=Operation.RETURN, request_id=request_id, coupon_id=coupon.id)
    if earlier is not None:
        return earlier
    redeemed_at = _check_undoable(coupon, order_ref=order_ref, now=now)
    if now > redeemed_at + timedelta(days=coupon.batch.return_days):
        raise ReturnWindowPassed(f"A coupon of this batch can be returned within {coupon.batch.return_days} days")
    return await _undo(coupon, operation=Operation.RETURN, request_id=request_id, actor=actor, now=now,
                       store_id=coupon.redeemed_store_id)


def _check_undoable(coupon: Coupon, *, order_ref: str | None, now: datetime) -> datetime:
    """Refuses a coupon that is not redeemed (with ``order_ref``, by that order); returns when it was."""
    if coupon.state != REDEEMED:
        raise CouponNotRedeemed(f"The coupon is {effective_state(coupon, now).value}")
    if order_ref is not None and order_ref != coupon.redeemed_order_ref:
        raise InvalidInput.field("order_ref", "is not the order the coupon was redeemed with")
    return present(coupon.redeemed_at, "a redemption sets redeemed_at and only its undo clears it")


async def _undo(coupon: Coupon, *, operation: Operation, request_id: str, actor: Actor, now: datetime,
                store_id: int | None) -> Transition:
    """redeemed → claimed again, or expired if its validity ended meanwhile; the ledger row keeps the order
    and the discount given back."""
    cleared = {"redeemed_at": None, "redeemed_store_id": None, "redeemed_staff_id": None, "redeemed_order_ref": None,
               "redeemed_spend_fen": None, "redeemed_discount_fen": None}
    done = await apply(
        coupon, operation=operation, to_state=CLAIMED if now < coupon.valid_until else EXPIRED, actor=actor,
        request_id=request_id, now=now, changes=cleared, store_id=store_id, order_ref=coupon.redeemed_order_ref,
        amount_fen=coupon.redeemed_discount_fen, event=funnel.columns)
    if done is not None:
        await _give_back(coupon.batch, coupon.redeemed_discount_fen)
    return await settle(done, operation=operation, request_id=request_id, coupon=coupon,
                        lost=CouponNotRedeemed("The redemption was changed by another request meanwhile"))
