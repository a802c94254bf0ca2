"""``GET /s/gifts/{token}``: the page a friend opens from a coupon share link.

It shows what is offered and until when; the friend accepts inside the carrier's app (the app opens this
page in its web view and calls ``POST /api/v1/app/users/{id}/shares/{token}/accept`` with its own user id).
The giver's identity is never shown, and the coupon's code is not on this page: the friend gets a new code
on accepting (``coupons.gifting.accept``).
"""

from __future__ import annotations

from fastapi.responses import Response

from coupons.gifting.models import ShareStatus
from hub.edge import APIRouter
from storefront.gifts import service
from storefront.pages import message_page, render
from storefront.terms import value_of, when

router = APIRouter(prefix="/s/gifts", include_in_schema=False)

ENDED = {
    ShareStatus.ACCEPTED: ("已被领取", "这张优惠券已经被领取了。"),
    ShareStatus.REVOKED: ("转赠已取消", "好友取消了这次转赠。"),
    ShareStatus.EXPIRED: ("链接已过期", "这个转赠链接已经过期，请让好友重新分享。"),
}


@router.get("/{token}")
async def gift_page(token: str) -> Response:
    gift = await service.gift_now(token=token)
    if gift is None:
        return message_page(404, "链接无效", "没有找到这个转赠链接，请检查链接是否完整。")
    if gift.status != ShareStatus.PENDING:
        title, message = ENDED[gift.status]
        return message_page(410, title, message)
    if not gift.usable:
        return message_page(410, "优惠券已失效", "这张优惠券已过期或不可再使用。")
    share, batch = gift.share, gift.share.coupon.batch
    return render("gift.html", title=f"好友送您 · {batch.name}", batch=batch, value=value_of(batch),
                  valid_until=when(share.coupon.valid_until), accept_by=when(share.expires_at), where=gift.where)
