"""``hub coupons demo``: coupons in the demo province, so ``make demo`` has something to click.

Four batches of the kinds ops run (a welcome coupon, a broadband threshold coupon for one city, a video
membership from a partner's file, a capped discount), each drafted, approved by a second key and activated
through the same services as the API. Some demo customers claim, one is issued a coupon to claim later, a
few coupons are redeemed at the first store (one of them cancelled, one returned), and the first store's
WeCom store code offers the welcome coupon. Every step has a fixed request id, so running it again (any
day) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from coupons.batches import service as batches
from coupons.claims import service as claims
from coupons.issues import service as issues
from coupons.ledger import Actor
from coupons.models import BatchKind, Coupon, CouponBatch
from coupons.partner_codes import service as partner_codes
from coupons.redemptions import service as redemptions
from hub.auth.models import ApiKey, Role
from hub.auth.service import create_key
from hub.campaigns.models import Campaign
from hub.codes.models import Code, TargetKind
from hub.customers.models import Customer
from hub.database import transaction
from hub.errors import HubError
from hub.links.coupon_links import claim_link_url, coupon_page_url
from hub.regions.models import Region
from hub.stores.models import Store
from hub.wecom.models import ContactWay

AUTHOR, APPROVER = "demo coupons (author)", "demo coupons (approver)"
PARTNER_CODES = [f"VIPDEMO{n:05d}" for n in range(1, 61)]


@dataclass(frozen=True)
class DemoCoupons:
    batches: list[CouponBatch]
    claimed_page: str
    issued_page: str
    equity_page: str
    claim_link: str
    store_id: int
    wecom_codes: int  # demo contact-me codes whose welcome now offers the welcome coupon


async def _key(name: str) -> ApiKey:
    key = await ApiKey.get_or_none(name=name, revoked_at=None)
    return key if key is not None else (await create_key(role=Role.OPS, name=name))[0]


def _plans(store: Store, city: Region | None, campaign: Campaign | None) -> list[dict]:
    return [
        {"name": "新客欢迎券 立减10元", "kind": BatchKind.CASH, "face_value_fen": 1000, "total_quantity": 10_000,
         "per_customer_limit": 1, "valid_days": 14, "remind_days_before": 3,
         "campaign_id": campaign.id if campaign else None},
        {"name": "宽带满200减50", "kind": BatchKind.THRESHOLD, "face_value_fen": 5000, "min_spend_fen": 20_000,
         "total_quantity": 2_000, "daily_cap": 200, "valid_days": 30, "categories": ["home"],
         "region_ids": [city.id] if city else [], "stackable": False},
        {"name": "视频会员月卡", "kind": BatchKind.EQUITY, "face_value_fen": 1500, "total_quantity": 50,
         "valid_days": 30, "transferable": False},
        {"name": "全场9折 最高减30元", "kind": BatchKind.DISCOUNT, "discount_percent": 10, "discount_cap_fen": 3000,
         "total_quantity": 5_000, "valid_days": 7, "valid_start_days": 0, "usable_hours": [["09:00", "21:00"]],
         "channels": ["store", "storefront"]},
    ]


async def _batch(plan: dict, author: ApiKey, approver: ApiKey) -> CouponBatch:
    """The demo batch of this name, drafted, approved and activated if new."""
    found = await CouponBatch.get_or_none(name=plan["name"], created_by_id=author.id)
    if found is not None:
        return found
    async with transaction():
        batch = await batches.create_batch(created_by_id=author.id, **plan)
        if batch.kind == BatchKind.EQUITY:
            await partner_codes.load(batch_id=batch.id, codes=PARTNER_CODES, source="demo-partner-codes.txt")
        await batches.approve_batch(batch_id=batch.id, approver_id=approver.id)
        return await batches.activate_batch(batch_id=batch.id)


async def _city_of(store: Store) -> Region | None:
    region = await Region.get(id=store.region_id)
    while region.parent_id is not None and region.level != "city":
        region = await Region.get(id=region.parent_id)
    return region if region.level == "city" else None


async def _quietly(step) -> object | None:
    """One demo step in its own transaction; a refusal (say the day's cap) leaves the demo as it is."""
    try:
        async with transaction():
            return await step()
    except HubError:
        return None


async def load_demo_coupons() -> DemoCoupons:
    store = await Store.all().order_by("code").first()
    customers = cast(list[int], await Customer.filter(merged_into_id=None).order_by("id").limit(20).values_list(
        "id", flat=True))
    if store is None or len(customers) < 20:
        raise RuntimeError("load the demo province first: hub demo-data")
    author, approver = await _key(AUTHOR), await _key(APPROVER)
    campaign = await Campaign.filter(status="running").order_by("id").first()
    made = [await _batch(plan, author, approver) for plan in _plans(store, await _city_of(store), campaign)]
    welcome, broadband, equity, discount = made
    actor = Actor(key_id=author.id, role=Role.OPS.value)

    for customer_id in customers[:12]:
        await _quietly(lambda c=customer_id: claims.claim(batch_id=welcome.id, customer_id=c, channel="wecom",
                                                          request_id=f"demo:claim:{welcome.id}:{c}", actor=actor))
    for customer_id in customers[12:15]:
        await _quietly(lambda c=customer_id: claims.claim(batch_id=equity.id, customer_id=c, channel="app",
                                                          request_id=f"demo:claim:{equity.id}:{c}", actor=actor))
    for customer_id in customers[15:18]:
        await _quietly(lambda c=customer_id: claims.claim(batch_id=broadband.id, customer_id=c, channel="storefront",
                                                          request_id=f"demo:claim:{broadband.id}:{c}", actor=actor))
    await _quietly(lambda: issues.issue(batch_id=discount.id, customer_id=customers[18], channel="app",
                                        request_id=f"demo:issue:{discount.id}:{customers[18]}", actor=actor))

    held = await Coupon.filter(batch_id=welcome.id, owner_id__in=customers[:12]).order_by("owner_id")
    for n, coupon in enumerate(held[:4]):
        await _quietly(lambda c=coupon, n=n: redemptions.redeem(
            code=c.code, store_id=store.id, channel="store", spend_fen=9_900, order_ref=f"DEMO-POS-{n}",
            request_id=f"demo:redeem:{c.id}", actor=actor))
    if len(held) >= 2:
        await _quietly(lambda: redemptions.cancel_redemption(code=held[0].code, store_id=store.id,
                                                             request_id=f"demo:cancel:{held[0].id}", actor=actor))
        await _quietly(lambda: redemptions.return_coupon(code=held[1].code,
                                                         request_id=f"demo:return:{held[1].id}", actor=actor))

    # Every demo contact-me code (``hub demo-wecom``) offers the welcome coupon in its greeting.
    demo_codes = await Code.filter(batch_key__startswith="demo-wecom-", target_kind=TargetKind.WECOM_CONTACT
                                   ).values_list("id", flat=True)
    await ContactWay.filter(code_id__in=demo_codes).update(welcome_coupon_batch_id=welcome.id)

    unused = held[-1] if held else None
    issued = await Coupon.filter(batch_id=discount.id).order_by("id").first()
    vip = await Coupon.filter(batch_id=equity.id).order_by("id").first()
    for batch in made:
        await batch.refresh_from_db()
    return DemoCoupons(
        batches=made, claimed_page=coupon_page_url(unused.code) if unused else "",
        issued_page=coupon_page_url(issued.code) if issued else "",
        equity_page=coupon_page_url(vip.code) if vip else "",
        claim_link=claim_link_url(batch_id=broadband.id, customer_id=customers[19], channel="storefront"),
        store_id=store.id, wecom_codes=len(demo_codes))

