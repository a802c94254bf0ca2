"""Request and response bodies of the coupon API, written by hand."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from coupons.codes import CODE_LENGTH
from coupons.ledger import Transition
from coupons.models import BatchKind, Coupon, CouponLedger, CouponState
from hub.schemas import OutTime, Text

Quantity = Annotated[int, Field(ge=1, le=10_000_000)]
CouponCode = Annotated[str, Field(min_length=CODE_LENGTH, max_length=2 * CODE_LENGTH,
                                  description="As printed or scanned; case, spaces and dashes are ignored")]
OrderRef = Annotated[str, Text(64)]
Weekday = Annotated[int, Field(ge=1, le=7, description="ISO weekday: 1 is Monday, 7 Sunday")]
HourMinute = Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", description="HH:MM")]
HourWindow = tuple[HourMinute, HourMinute]


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class CouponOut(BaseModel):
    id: int
    code: str
    batch_id: int
    kind: BatchKind
    owner_id: int | None
    state: CouponState = Field(description="As of now: a lapsed coupon shows expired even before the expiry job")
    valid_from: OutTime
    valid_until: OutTime
    claimed_at: OutTime | None
    redeemed_at: OutTime | None
    redeemed_store_id: int | None
    redeemed_discount_fen: int | None
    partner_code: str | None = Field(None, description=(
        "An equity coupon's code from the partner, shown once the coupon is claimed (never while only issued)"))

    @classmethod
    def of(cls, coupon: Coupon, state: CouponState) -> CouponOut:
        """From a coupon with its batch joined, in its effective ``state``."""
        c = coupon
        shown = state in (CouponState.CLAIMED, CouponState.LOCKED, CouponState.REDEEMED)  # the holder's to use
        return cls(id=c.id, code=c.code, batch_id=c.batch_id, kind=c.batch.kind, owner_id=c.owner_id, state=state,
                   valid_from=c.valid_from, valid_until=c.valid_until, claimed_at=c.claimed_at,
                   redeemed_at=c.redeemed_at, redeemed_store_id=c.redeemed_store_id,
                   redeemed_discount_fen=c.redeemed_discount_fen, partner_code=c.partner_code if shown else None)


class LedgerOut(BaseModel):
    id: int
    operation: str
    from_state: CouponState | None
    to_state: CouponState
    actor_role: str
    channel: str
    store_id: int | None
    staff_id: int | None
    order_ref: str | None
    amount_fen: int | None
    detail: dict | None = Field(description="For a gift, accept or revoke_gift: the share and both owners")
    created_at: OutTime

    @classmethod
    def of(cls, entry: CouponLedger) -> LedgerOut:
        return cls.model_validate(entry, from_attributes=True)


class TransitionOut(BaseModel):
    """One operation's outcome: the ledger row it wrote (for a redemption ``amount_fen`` is the discount)
    and the coupon as it is now."""

    entry: LedgerOut
    coupon: CouponOut

    @classmethod
    def of(cls, transition: Transition, state: CouponState) -> TransitionOut:
        return cls(entry=LedgerOut.of(transition.entry), coupon=CouponOut.of(transition.coupon, state))


