"""Request and response bodies of the coupon API, written by hand."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from coupons.codes import CODE_LENGTH
from coupons.ledger import Transition
from coupons.models import (
    BatchKind,
    BatchStatus,
    Coupon,
    CouponBatch,
    CouponChannel,
    CouponLedger,
    CouponShare,
    CouponState,
    ShareStatus,
)
from hub.products.models import ProductCategory
from hub.schemas import DbId, Fen, InTime, OutTime, text

Quantity = Annotated[int, Field(ge=1, le=10_000_000)]
CouponCode = Annotated[str, Field(min_length=CODE_LENGTH, max_length=2 * CODE_LENGTH,
                                  description="As printed or scanned; case, spaces and dashes are ignored")]
OrderRef = text(64)
Weekday = Annotated[int, Field(ge=1, le=7, description="ISO weekday: 1 is Monday, 7 Sunday")]
HourMinute = Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", description="HH:MM")]
HourWindow = tuple[HourMinute, HourMinute]


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class BatchIn(BaseModel):
    """Validity is either ``valid_from`` + ``valid_until`` or ``valid_days`` from the claim (starting
    ``valid_start_days`` after it); empty scope lists mean "anywhere", and stores and regions add up."""

    name: text(100)
    kind: BatchKind
    face_value_fen: Fen = 0
    min_spend_fen: Fen = 0
    discount_percent: int | None = Field(None, ge=1, le=99, description="Percent off, for a discount batch")
    discount_cap_fen: Fen | None = None
    total_quantity: Quantity
    budget_fen: Fen | None = None
    daily_cap: Quantity | None = None
    per_customer_limit: int = Field(1, ge=1, le=1000)
    return_days: int = Field(7, ge=0, le=366, description="Days after a redemption a refund may return it")
    valid_from: InTime | None = None
    valid_until: InTime | None = None
    valid_days: int | None = Field(None, ge=1, le=3660)
    valid_start_days: int = Field(0, ge=0, le=366, description="With valid_days: usable this many days after claim")
    store_ids: Annotated[list[DbId], Field(max_length=1000)] = []
    region_ids: Annotated[list[DbId], Field(max_length=1000, description=(
        "Regions (province, city, county or grid) whose every store may redeem"))] = []
    categories: Annotated[list[ProductCategory], Field(max_length=len(ProductCategory))] = []
    product_ids: Annotated[list[DbId], Field(max_length=1000, description=(
        "Products the coupon is for; with categories, a product named or of a category named"))] = []
    channels: Annotated[list[CouponChannel], Field(max_length=len(CouponChannel))] = []
    usable_weekdays: Annotated[list[Weekday], Field(max_length=7)] = []
    usable_hours: Annotated[list[HourWindow], Field(max_length=12, description=(
        "Windows [start, end) of Shanghai time, such as [\"09:00\", \"21:00\"]; empty means any hour"))] = []
    stackable: bool = Field(False, description="Whether it may share an order with other coupons")
    transferable: bool = Field(True, description="Whether its owner may give it to a friend")
    remind_days_before: int | None = Field(None, ge=1, le=90, description=(
        "Remind each holder this many days before their coupon expires; null = no reminder"))
    campaign_id: DbId | None = None

    @field_validator("store_ids", "region_ids", "product_ids", "categories", "channels", "usable_weekdays")
    @classmethod
    def _unique_lists(cls, value):
        return _unique(value)


class QuantityIn(BaseModel):
    expected: int = Field(ge=0, le=10_000_000, description="The total_quantity you last saw")
    total_quantity: Quantity


class BatchOut(BaseModel):
    id: int
    name: str
    kind: BatchKind
    status: BatchStatus
    face_value_fen: int
    min_spend_fen: int
    discount_percent: int | None
    discount_cap_fen: int | None
    total_quantity: int
    issued_count: int
    budget_fen: int | None
    discount_given_fen: int = Field(description="A discount batch's discounts given so far, kept within budget_fen")
    daily_cap: int | None
    per_customer_limit: int
    return_days: int
    valid_from: OutTime | None
    valid_until: OutTime | None
    valid_days: int | None
    valid_start_days: int
    store_ids: list[int]
    region_ids: list[int]
    categories: list[ProductCategory]
    product_ids: list[int]
    channels: list[CouponChannel]
    usable_weekdays: list[int]
    usable_hours: list[tuple[str, str]]
    stackable: bool
    transferable: bool
    remind_days_before: int | None
    campaign_id: int | None
    approved_at: OutTime | None
    version: int
    created_at: OutTime

    @classmethod
    def of(cls, batch: CouponBatch) -> BatchOut:
        return cls.model_validate(batch, from_attributes=True)


class ClaimIn(BaseModel):
    """``visitor_id`` or the link ``token`` of the page the claim came from credit the code that brought
    the customer."""

    customer_id: DbId
    channel: CouponChannel
    visitor_id: text(40) | None = None
    token: text(1024) | None = None


class IssueIn(BaseModel):
    """The customer the coupon is for, and the channel issuing it (an offer's, a welcome message's)."""

    customer_id: DbId
    channel: CouponChannel


class ClaimIssuedIn(BaseModel):
    """The customer claiming: the one the coupon was issued to, under any of their identities."""

    customer_id: DbId
    channel: CouponChannel


class RedeemIn(BaseModel):
    """The store is the key's own; a POS key without a store names it in ``store_id``."""

    code: CouponCode
    spend_fen: Fen
    channel: CouponChannel = CouponChannel.STORE
    category: ProductCategory | None = None
    product_id: DbId | None = Field(None, description="The product bought (its category counts as category)")
    order_ref: OrderRef | None = None
    store_id: DbId | None = None


class CancelRedemptionIn(BaseModel):
    code: CouponCode
    order_ref: OrderRef | None = Field(None, description="The POS transaction the coupon was redeemed with")
    store_id: DbId | None = None


class LockIn(BaseModel):
    code: CouponCode
    holder: OrderRef = Field(description="The POS transaction or order holding the coupon; redeem with it as order_ref")
    ttl_minutes: int = Field(10, ge=1, le=120)


class ReleaseIn(BaseModel):
    code: CouponCode
    holder: OrderRef


class ReturnIn(BaseModel):
    code: CouponCode
    order_ref: OrderRef | None = Field(None, description="The refunded order; must be the one it was redeemed with")


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


class CouponHistoryOut(BaseModel):
    coupon: CouponOut
    ledger: list[LedgerOut]


class WalletOut(BaseModel):
    customer_id: int = Field(description="The live customer the wallet belongs to")
    coupons: dict[CouponState, list[CouponOut]]


class ShareIn(BaseModel):
    """The owner (under any of their identities) giving the coupon away, and how long the link lasts."""

    customer_id: DbId
    ttl_hours: int = Field(72, ge=1, le=720)


class ShareActionIn(BaseModel):
    """The friend accepting the link, or the owner revoking it."""

    customer_id: DbId


class ShareOut(BaseModel):
    """A share link as it is now (a lapsed pending link shows expired), with the step just taken on it."""

    token: str = Field(description="The link's secret: whoever holds it can accept the coupon")
    status: ShareStatus
    expires_at: OutTime
    from_customer_id: int
    to_customer_id: int | None
    accepted_at: OutTime | None
    revoked_at: OutTime | None
    created_at: OutTime
    entry: LedgerOut
    coupon: CouponOut

    @classmethod
    def of(cls, share: CouponShare, status: ShareStatus, transition: Transition, state: CouponState) -> ShareOut:
        return cls(token=share.token, status=status, expires_at=share.expires_at,
                   from_customer_id=share.from_customer_id, to_customer_id=share.to_customer_id,
                   accepted_at=share.accepted_at, revoked_at=share.revoked_at, created_at=share.created_at,
                   entry=LedgerOut.of(transition.entry), coupon=CouponOut.of(transition.coupon, state))
