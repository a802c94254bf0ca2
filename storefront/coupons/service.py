"""What the customer's coupon pages read and do: a coupon as it is now, the offer behind a signed claim link,
and the two claims a customer makes from a page.

Holding the code is the proof of ownership (75 random bits), as at the till, so there is no sign-in; a claim
link is signed for one customer and one batch (``hub.links.coupon_links``). Reads stay reads; the claims go
through the coupons services, as the customer (``CUSTOMER``), with request ids that make a double tap claim
once. Time is ``hub.clock``'s unless the caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coupons.claims import service as claims
from coupons.claims.service import PerCustomerLimitReached, live_id, person_ids
from coupons.codes import normalise
from coupons.gifting.models import CouponShare, ShareStatus
from coupons.issues import service as issues
from coupons.ledger import Actor
from coupons.models import BatchStatus, Coupon, CouponBatch, CouponChannel, CouponState
from coupons.rules import effective_state
from hub import clock
from hub.codes.models import Code
from hub.customers.service import CustomerNotFound
from hub.database import transaction
from hub.errors import HubError
from hub.events.attribution import Attribution
from hub.links.coupon_links import ClaimLink, verify_claim_token
from storefront.terms import Where, usable_where

# The customer acts on their own coupon: no API key, proven by the code or by the signed link.
CUSTOMER = Actor(key_id=None, role="customer")
CODE_MAX = 64  # a code is 16 symbols; dashes and spaces of a hand-typed one fit too
# States in which the coupon can be shown at the till (or given away).
SCANNABLE = frozenset({CouponState.CLAIMED, CouponState.LOCKED})


class BadLink(HubError):
    """A claim link that cannot be used; the page says which of the two."""


class LinkExpired(BadLink):
    status = 410
    slug = "claim-link-expired"
    title = "The claim link has expired"


class LinkInvalid(BadLink):
    status = 404
    slug = "not-found"
    title = "The claim link is incomplete or damaged"


@dataclass(frozen=True)
class CouponNow:
    """A coupon (its batch loaded) as it is at ``now``: the state the customer sees, and whether a pending
    share holds it back from the till."""

    coupon: Coupon
    state: CouponState
    gifting: bool
    not_yet: bool  # its validity has not started (a batch valid from N days after the claim)
    where: Where

    @property
    def scannable(self) -> bool:
        return self.state in SCANNABLE and not self.gifting


@dataclass(frozen=True)
class LinkOffer:
    """The batch a claim link offers, and what the person it was sent to already holds of it."""

    batch: CouponBatch
    where: Where
    held: Coupon | None  # their newest coupon of the batch
    full: bool  # they hold as many as one person may
    open: bool  # the batch is handing out coupons


@dataclass(frozen=True)
class Claim:
    """What a claim from a page came to: the coupon to show, or the refusal to show (with, for a claim link
    refused by the per-person limit, the coupon already held). A refused claim leaves nothing behind."""

    code: str | None
    refused: HubError | None = None


async def find(code: str) -> Coupon | None:
    """The coupon behind a code from a URL, or None for anything that is not one (typo, unknown, too long)."""
    stored = normalise(code) if len(code) <= CODE_MAX else None
    if stored is None:
        return None
    return await Coupon.get_or_none(code=stored).select_related("batch")


async def coupon_now(*, code: str, now: datetime | None = None) -> CouponNow | None:
    """The coupon behind ``code`` as the customer sees it at ``now``; None when there is none."""
    coupon = await find(code)
    if coupon is None:
        return None
    now = now or clock.now()
    state = effective_state(coupon, now)
    gifting = state in SCANNABLE and await CouponShare.exists(
        coupon_id=coupon.id, status=ShareStatus.PENDING, expires_at__gt=now)
    return CouponNow(coupon=coupon, state=state, gifting=gifting, not_yet=now < coupon.valid_from,
                     where=await usable_where(coupon.batch))


def verify_link(token: str, *, now: datetime | None = None) -> ClaimLink:
    """The claim link ``token`` stands for; ``LinkExpired`` when we signed it but it is too old."""
    link = verify_claim_token(token, now=(now or clock.now()).timestamp())
    if link is not None:
        return link
    if verify_claim_token(token, now=0) is not None:  # signed by us, only too old
        raise LinkExpired("The claim link has expired; ask for a new one")
    raise LinkInvalid("No claim link matches this token")


async def link_offer(*, token: str, now: datetime | None = None) -> LinkOffer | None:
    """What the claim link offers its customer; None when its batch does not exist."""
    link = verify_link(token, now=now)
    batch = await CouponBatch.get_or_none(id=link.batch_id)
    if batch is None:
        return None
    held = await _holdings(batch.id, link.customer_id)
    return LinkOffer(batch=batch, where=await usable_where(batch), held=held[0] if held else None,
                     full=len(held) >= batch.per_customer_limit, open=batch.status == BatchStatus.ACTIVE)


async def claim_by_link(*, token: str, now: datetime | None = None) -> Claim:
    """Claim the coupon a link offers, as its customer through the link's channel; the request id is the
    signed payload's digest, so a second claim of one link answers the first coupon.

    The claim runs in a savepoint of the caller's transaction: a refusal becomes a page, which the caller's
    transaction then commits, so the refused claim's own writes must be undone here."""
    now = now or clock.now()
    link = verify_link(token, now=now)
    touch = await _touch_of(link)
    try:
        async with transaction():
            done = await claims.claim(batch_id=link.batch_id, customer_id=link.customer_id, channel=link.channel,
                                      request_id=f"claim-link:{link.digest}", actor=CUSTOMER, attribution=touch,
                                      now=now)
    except PerCustomerLimitReached as error:
        held = await _holdings(link.batch_id, link.customer_id)
        return Claim(code=held[0].code if held else None, refused=error)
    except HubError as error:
        return Claim(code=None, refused=error)
    return Claim(code=done.coupon.code)


async def claim_issued(*, code: str, now: datetime | None = None) -> Claim | None:
    """The owner of an issued coupon claims it (the code is the proof); None when there is no such coupon.
    The request id is the code's, so a double tap claims once. A coupon never issued to anyone, or no
    longer issued (claimed elsewhere meanwhile, lapsed), is simply shown as it is. As ``claim_by_link``,
    the claim runs in a savepoint so a refusal leaves nothing behind."""
    coupon = await find(code)
    if coupon is None:
        return None
    if coupon.owner_id is None:  # never issued to anyone: nothing to claim here
        return Claim(code=coupon.code)
    try:
        async with transaction():
            await issues.claim_issued(code=coupon.code, customer_id=coupon.owner_id, channel=CouponChannel.STOREFRONT,
                                      request_id=f"storefront-claim:{coupon.code}", actor=CUSTOMER,
                                      now=now or clock.now())
    except issues.CouponNotIssued:
        pass  # the coupon page shows what it is now
    except HubError as error:
        return Claim(code=None, refused=error)
    return Claim(code=coupon.code)


async def _holdings(batch_id: int, customer_id: int) -> list[Coupon]:
    """The coupons of the batch the person behind ``customer_id`` holds, newest first."""
    try:
        owners = await person_ids(await live_id(customer_id))
    except CustomerNotFound:
        return []
    return await Coupon.filter(batch_id=batch_id, owner_id__in=owners).order_by("-id")


async def _touch_of(link: ClaimLink) -> Attribution | None:
    """The touch a claim link stands for: its code, when it names one, at the time the link was sent."""
    if link.code_id is None:
        return None
    code = await Code.filter(id=link.code_id).first().values(
        "slug", "store_id", "staff_id", "product_id", "campaign_id", "channel")
    return Attribution(code_id=link.code_id, at=link.issued_at, **code) if code else None
