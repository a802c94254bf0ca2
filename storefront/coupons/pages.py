"""The customer's coupon pages (H5), opened on a phone from a WeCom message, an offer or the app.

- ``GET /s/coupons/{code}``: one coupon as it is now, with its QR code and Code 128 barcode while it can
  be used.
- ``POST /s/coupons/{code}/claim``: an issued coupon claimed by its owner.
- ``GET``/``POST /s/coupons/claim/{token}``: a signed claim link for one customer and one batch.

Each POST is one transaction (the edge's) and answers 303 to the coupon, or a page saying why not
(``storefront.pages``). What the pages read and do is ``storefront.coupons.service``.
"""

from __future__ import annotations

from fastapi.responses import Response

from coupons.batches.service import BatchNotFound, BatchWrongStatus
from coupons.claims.service import BatchOver, DailyCapReached, OutOfStock, PerCustomerLimitReached
from coupons.models import BatchKind, CouponState
from coupons.rules import fixed_window
from hub.customers.service import CustomerMerged, CustomerNotFound
from hub.edge import APIRouter
from hub.errors import HubError, present
from storefront.coupons import service
from storefront.coupons.service import SCANNABLE, Claim, LinkExpired
from storefront.pages import barcode, coupon_path, groups_of_four, message_page, qr_svg, render, to_coupon
from storefront.terms import batch_validity, value_of, when

router = APIRouter(prefix="/s/coupons", include_in_schema=False)

STATES = {CouponState.ISSUED: "待领取", CouponState.CLAIMED: "可使用", CouponState.LOCKED: "使用中",
          CouponState.REDEEMED: "已使用", CouponState.EXPIRED: "已过期", CouponState.VOIDED: "已作废"}
# Why a claim was refused, as the customer reads it (the problem's own title is shown beneath, small).
REFUSALS = {
    OutOfStock: ("券已领完", "这批优惠券已经全部领完了，请留意后续活动。"),
    DailyCapReached: ("今日已领完", "今天的优惠券已经领完了，明天再来吧。"),
    PerCustomerLimitReached: ("您已领取过", "这张优惠券每人限领，您已经领过了。"),
    BatchOver: ("活动已结束", "这批优惠券的有效期已过。"),
    BatchWrongStatus: ("活动暂未开放", "这批优惠券暂停发放或已结束。"),
    BatchNotFound: ("优惠券不存在", "没有找到这批优惠券。"),
    CustomerNotFound: ("链接无效", "这个领取链接对应的账户不存在，请联系为您服务的店员。"),
    CustomerMerged: ("请稍后重试", "您的账户信息刚刚更新，请重新打开链接。"),
}


@router.get("/claim/{token}")
async def claim_link_page(token: str) -> Response:
    try:
        offer = await service.link_offer(token=token)
    except service.BadLink as error:
        return _bad_link(error)
    if offer is None:
        return message_page(404, "优惠券不存在", "没有找到这批优惠券。")
    batch = offer.batch
    if batch.valid_days is None:
        starts, ends = fixed_window(batch)
        validity, valid_from, valid_until = None, when(starts), when(ends)
    else:
        validity, valid_from, valid_until = batch_validity(batch), None, None
    return render("claim_link.html", title=f"领取 · {batch.name}", batch=batch, value=value_of(batch),
                  validity=validity, valid_from=valid_from, valid_until=valid_until,
                  where=offer.where, held=offer.held, full=offer.full, open=offer.open, token=token)


@router.post("/claim/{token}")
async def claim_by_link(token: str) -> Response:
    try:
        claim = await service.claim_by_link(token=token)
    except service.BadLink as error:
        return _bad_link(error)
    return _after(claim)


@router.get("/{code}")
async def coupon_page(code: str) -> Response:
    seen = await service.coupon_now(code=code)
    if seen is None:
        return _not_found()
    coupon, batch, state = seen.coupon, seen.coupon.batch, seen.state
    return render(
        "coupon.html", title=batch.name, coupon=coupon, batch=batch, state=state, state_text=STATES[state],
        value=value_of(batch), valid_from=when(coupon.valid_from), valid_until=when(coupon.valid_until),
        # An issued coupon's validity restarts when it is claimed: show the rule, not today's guess.
        validity=batch_validity(batch) if state == CouponState.ISSUED and batch.valid_days is not None else None,
        not_yet=seen.not_yet, where=seen.where, gifting=seen.gifting,
        scannable=seen.scannable, grouped=groups_of_four(coupon.code),
        qr=qr_svg(coupon.code) if seen.scannable else None,
        barcode=barcode(coupon.code) if seen.scannable else None,
        equity=batch.kind == BatchKind.EQUITY and state in SCANNABLE,
        redeemed_at=when(coupon.redeemed_at) if state == CouponState.REDEEMED and coupon.redeemed_at else None,
    )


@router.post("/{code}/claim")
async def claim_issued(code: str) -> Response:
    claim = await service.claim_issued(code=code)
    return _not_found() if claim is None else _after(claim)


def _after(claim: Claim) -> Response:
    """The coupon's page after a claim, or the refusal (linking to the coupon already held, if any)."""
    if claim.refused is None:
        return to_coupon(present(claim.code, "a claim that was not refused names its coupon"))
    return _refused(claim.refused, link=coupon_path(claim.code) if claim.code else None)


def _not_found() -> Response:
    return message_page(404, "优惠券不存在", "没有找到这张优惠券，请检查链接是否完整，或联系为您服务的店员。")


def _bad_link(error: service.BadLink) -> Response:
    if isinstance(error, LinkExpired):
        return message_page(410, "领取链接已过期", "这个领取链接已经过期，请联系为您服务的店员重新发送。")
    return message_page(404, "链接无效", "这个领取链接不完整或已损坏，请从原消息重新打开。")


def _refused(error: HubError, *, link: str | None = None) -> Response:
    title, message = next((text for kind, text in REFUSALS.items() if isinstance(error, kind)),
                          ("暂时无法领取", "请稍后重试，或联系为您服务的店员。"))
    return message_page(error.status, title, message, detail=error.title, link=link,
                        link_text="查看我的这张券" if link else "")
