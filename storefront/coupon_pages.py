"""The customer's coupon pages (H5), opened on a phone from a WeCom message, an offer or the app.

- ``GET /s/coupons/{code}``: one coupon as it is now, with its QR code and Code 128 barcode while it can
  be used. Holding the code is the proof of ownership (75 random bits), as at the till, so there is no
  sign-in; the URL is the secret, hence ``no-store`` and ``no-referrer`` on every page.
- ``POST /s/coupons/{code}/claim``: an issued coupon claimed by its owner; the request id is the code's,
  so a double tap claims once.
- ``GET``/``POST /s/coupons/claim/{token}``: a signed claim link (``hub.links.coupon_links``) for one
  customer and one batch; the request id is the signed payload's digest, so a second POST replays.

Pages for people, not API: every outcome is a small Chinese page (a refusal with its status), never
problem JSON, and they stay out of OpenAPI. Each POST is one transaction and answers 303 to the coupon.
"""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from coupons.batches.service import BatchNotFound, BatchWrongStatus
from coupons.claims import service as claims
from coupons.claims.service import BatchOver, DailyCapReached, OutOfStock, PerCustomerLimitReached, live_id, person_ids
from coupons.codes import normalise
from coupons.gifting.models import CouponShare, ShareStatus
from coupons.issues import service as issues
from coupons.ledger import Actor
from coupons.models import BatchKind, BatchStatus, Coupon, CouponBatch, CouponChannel, CouponState
from coupons.rules import effective_state
from hub.codes.models import Code
from hub.codes.qr import qr_svg_element
from hub.customers.service import CustomerMerged, CustomerNotFound
from hub.database import transaction
from hub.edge import APIRouter
from hub.errors import HubError
from hub.events.attribution import Attribution
from hub.links.coupon_links import ClaimLink, verify_claim_token
from hub.products.models import Product
from hub.regions.models import Region
from hub.schemas import SHANGHAI
from hub.stores.models import Store
from storefront.barcode import barcode_svg

router = APIRouter(prefix="/s/coupons", include_in_schema=False)

# The customer acts on their own coupon: no API key, proven by the code or by the signed link.
CUSTOMER = Actor(key_id=None, role="customer")
# Pages that carry a bearer secret in their URL: never cached, never leaked by a Referer, nothing from elsewhere.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}
CODE_MAX = 64  # a code is 16 symbols; dashes and spaces of a hand-typed one fit too
SCANNABLE = frozenset({CouponState.CLAIMED, CouponState.LOCKED})
STATES = {CouponState.ISSUED: "待领取", CouponState.CLAIMED: "可使用", CouponState.LOCKED: "使用中",
          CouponState.REDEEMED: "已使用", CouponState.EXPIRED: "已过期", CouponState.VOIDED: "已作废"}
CHANNELS = {CouponChannel.STORE: "营业厅", CouponChannel.STOREFRONT: "线上商城", CouponChannel.APP: "掌上营业厅App",
            CouponChannel.WECOM: "企业微信"}
CATEGORIES = {"light": "流量及加装包", "finance": "金融分期", "terminal": "手机终端", "home": "家庭宽带",
              "preference": "兴趣权益包", "scenario": "场景套餐", "equity": "会员权益"}
WEEKDAYS = "一二三四五六日"
STORES_SHOWN = 10
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


def yuan(fen: int) -> str:
    """Fen as yuan without trailing zeros: 500 → "5", 550 → "5.5", 505 → "5.05"."""
    whole, cents = divmod(fen, 100)
    return str(whole) if cents == 0 else f"{whole}.{cents:02d}".rstrip("0")


def value_of(batch: CouponBatch) -> dict[str, str]:
    """The coupon's worth: ``big`` and ``unit`` for the ticket, ``text`` as one line, ``condition`` below."""
    minimum = f"满¥{yuan(batch.min_spend_fen)}可用" if batch.min_spend_fen > 0 else "无门槛"
    face = yuan(batch.face_value_fen)
    if batch.kind == BatchKind.THRESHOLD:
        return {"big": face, "unit": "¥", "text": f"满¥{yuan(batch.min_spend_fen)}减¥{face}", "condition": minimum}
    if batch.kind == BatchKind.DISCOUNT:
        tenths = 1000 - 10 * (batch.discount_percent or 0)  # 15 % off → 85 tenths → 8.5折
        rate = str(tenths // 100) if tenths % 100 == 0 else f"{tenths / 100:g}"
        cap = f" 最高减¥{yuan(batch.discount_cap_fen)}" if batch.discount_cap_fen is not None else ""
        return {"big": rate, "unit": "折", "text": f"{rate}折{cap}", "condition": f"{minimum}{cap}"}
    if batch.kind == BatchKind.GIFT:
        return {"big": "兑换", "unit": "", "text": f"兑换 价值¥{face}", "condition": f"价值¥{face}"}
    if batch.kind == BatchKind.EQUITY:
        return {"big": "权益", "unit": "", "text": f"权益 价值¥{face}", "condition": f"价值¥{face}"}
    return {"big": face, "unit": "¥", "text": f"立减 ¥{face}", "condition": minimum}


def when(value: datetime) -> str:
    local = value.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def batch_validity(batch: CouponBatch) -> str:
    """The validity rule of a batch, before any coupon of it exists."""
    if batch.valid_days is not None:
        if batch.valid_start_days:
            return f"领取{batch.valid_start_days}天后生效，有效{batch.valid_days}天"
        return f"领取后{batch.valid_days}天内有效"
    return f"{when(batch.valid_from)} 至 {when(batch.valid_until)}"


async def usable_where(batch: CouponBatch) -> list[tuple[str, str]]:
    """(label, text) rows of where and when the coupon may be used; an empty scope reads as "any"."""
    rows = []
    places = []
    if batch.store_ids:
        names = await Store.filter(id__in=batch.store_ids[:STORES_SHOWN]).order_by("id").values_list("name", flat=True)
        more = len(batch.store_ids) - len(names)
        places.append("、".join(names) + (f" 等{len(batch.store_ids)}家门店" if more > 0 else ""))
    if batch.region_ids:
        names = await Region.filter(id__in=batch.region_ids[:STORES_SHOWN]).order_by("id").values_list(
            "name", flat=True)
        places.append("、".join(names) + "的所有门店")
    rows.append(("适用门店", "；".join(p for p in places if p) or "全部门店"))
    rows.append(("适用渠道", "、".join(CHANNELS.get(c, c) for c in batch.channels) or "全部渠道"))
    goods = [CATEGORIES.get(c, c) for c in batch.categories]
    if batch.product_ids:
        goods += await Product.filter(id__in=batch.product_ids[:STORES_SHOWN]).order_by("id").values_list(
            "name", flat=True)
    if goods:
        rows.append(("适用商品", "、".join(goods)))
    if batch.usable_weekdays or batch.usable_hours:
        days = weekdays_text(batch.usable_weekdays)
        hours = "、".join(f"{start}–{end}" for start, end in batch.usable_hours) if batch.usable_hours else "全天"
        rows.append(("可用时间", f"{days} {hours}（北京时间）"))
    else:
        rows.append(("可用时间", "不限"))
    if not batch.stackable:
        rows.append(("叠加规则", "不可与其他优惠券同时使用"))
    return rows


def weekdays_text(weekdays: list[int]) -> str:
    """ISO weekdays as read aloud: [1, 2, 3, 4, 5] → 周一至周五, [1, 3, 5] → 周一、周三、周五, [] → 每天."""
    days = sorted({d for d in weekdays if 1 <= d <= 7})
    if not days or len(days) == 7:
        return "每天"
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return "、".join(f"周{WEEKDAYS[r[0] - 1]}至周{WEEKDAYS[r[-1] - 1]}" if len(r) > 2 else
                    "、".join(f"周{WEEKDAYS[d - 1]}" for d in r) for r in runs)


def groups_of_four(code: str) -> str:
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def qr_svg(code: str) -> Markup:
    element = qr_svg_element(code, size=200)
    for name in ("width", "height"):  # the page sizes it
        element.attrib.pop(name, None)
    element.set("role", "img")
    element.set("aria-label", "优惠券二维码")
    return Markup(ET.tostring(element, encoding="unicode"))


_env = Environment(loader=PackageLoader("storefront", "templates"), autoescape=True)


def render(template: str, *, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status, headers=HEADERS)


def message_page(status: int, title: str, message: str, *, detail: str = "", link: str | None = None,
             link_text: str = "") -> HTMLResponse:
    return render("message.html", status=status, title=title, message=message, detail=detail, link=link,
                 link_text=link_text)


def _not_found() -> HTMLResponse:
    return message_page(404, "优惠券不存在", "没有找到这张优惠券，请检查链接是否完整，或联系为您服务的店员。")


def _refused(error: HubError, *, link: str | None = None) -> HTMLResponse:
    title, message = next((text for kind, text in REFUSALS.items() if isinstance(error, kind)),
                          ("暂时无法领取", "请稍后重试，或联系为您服务的店员。"))
    return message_page(error.status, title, message, detail=error.title, link=link,
                    link_text="查看我的这张券" if link else "")


def _to_coupon(code: str) -> RedirectResponse:
    return RedirectResponse(f"/s/coupons/{code}", status_code=303, headers=HEADERS)


async def _coupon(code: str) -> Coupon | None:
    """The coupon behind a code from a URL, or None for anything that is not one (typo, unknown, too long)."""
    stored = normalise(code) if len(code) <= CODE_MAX else None
    if stored is None:
        return None
    return await Coupon.get_or_none(code=stored).select_related("batch")


def _link(token: str) -> tuple[ClaimLink | None, HTMLResponse | None]:
    """The verified claim link, or the page saying why it cannot be used (410 expired, 404 otherwise)."""
    link = verify_claim_token(token)
    if link is not None:
        return link, None
    if verify_claim_token(token, now=0) is not None:  # signed by us, only too old
        return None, message_page(410, "领取链接已过期", "这个领取链接已经过期，请联系为您服务的店员重新发送。")
    return None, message_page(404, "链接无效", "这个领取链接不完整或已损坏，请从原消息重新打开。")


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


@router.get("/claim/{token}")
async def claim_link_page(token: str) -> Response:
    link, refusal = _link(token)
    if refusal is not None:
        return refusal
    batch = await CouponBatch.get_or_none(id=link.batch_id)
    if batch is None:
        return message_page(404, "优惠券不存在", "没有找到这批优惠券。")
    held = await _holdings(batch.id, link.customer_id)
    fixed = batch.valid_days is None
    return render("claim_link.html", title=f"领取 · {batch.name}", batch=batch, value=value_of(batch),
                 validity=None if fixed else batch_validity(batch),
                 valid_from=when(batch.valid_from) if fixed else None,
                 valid_until=when(batch.valid_until) if fixed else None,
                 where=await usable_where(batch), held=held[0] if held else None,
                 full=len(held) >= batch.per_customer_limit, open=batch.status == BatchStatus.ACTIVE, token=token)


@router.post("/claim/{token}")
async def claim_by_link(token: str) -> Response:
    link, refusal = _link(token)
    if refusal is not None:
        return refusal
    touch = await _touch_of(link)
    try:
        async with transaction():
            done = await claims.claim(batch_id=link.batch_id, customer_id=link.customer_id, channel=link.channel,
                                      request_id=f"claim-link:{link.digest}", actor=CUSTOMER, attribution=touch)
    except PerCustomerLimitReached as error:
        held = await _holdings(link.batch_id, link.customer_id)
        return _refused(error, link=f"/s/coupons/{held[0].code}" if held else None)
    except HubError as error:
        return _refused(error)
    return _to_coupon(done.coupon.code)


@router.get("/{code}")
async def coupon_page(code: str) -> Response:
    coupon = await _coupon(code)
    if coupon is None:
        return _not_found()
    now = datetime.now(timezone.utc)
    state = effective_state(coupon, now)
    batch = coupon.batch
    gifting = state in SCANNABLE and await CouponShare.exists(
        coupon_id=coupon.id, status=ShareStatus.PENDING, expires_at__gt=now)
    scannable = state in SCANNABLE and not gifting
    return render(
        "coupon.html", title=batch.name, coupon=coupon, batch=batch, state=state, state_text=STATES[state],
        value=value_of(batch), valid_from=when(coupon.valid_from), valid_until=when(coupon.valid_until),
        # An issued coupon's validity restarts when it is claimed: show the rule, not today's guess.
        validity=batch_validity(batch) if state == CouponState.ISSUED and batch.valid_days is not None else None,
        not_yet=now < coupon.valid_from, where=await usable_where(batch), gifting=gifting,
        scannable=scannable, grouped=groups_of_four(coupon.code),
        qr=qr_svg(coupon.code) if scannable else None,
        barcode=Markup(barcode_svg(coupon.code)) if scannable else None,
        equity=batch.kind == BatchKind.EQUITY and state in SCANNABLE,
        redeemed_at=when(coupon.redeemed_at) if state == CouponState.REDEEMED and coupon.redeemed_at else None,
    )


@router.post("/{code}/claim")
async def claim_issued(code: str) -> Response:
    coupon = await _coupon(code)
    if coupon is None:
        return _not_found()
    if coupon.owner_id is None:  # never issued to anyone: nothing to claim here
        return _to_coupon(coupon.code)
    try:
        async with transaction():
            await issues.claim_issued(code=coupon.code, customer_id=coupon.owner_id, channel=CouponChannel.STOREFRONT,
                                      request_id=f"storefront-claim:{coupon.code}", actor=CUSTOMER)
    except issues.CouponNotIssued:
        pass  # claimed elsewhere meanwhile, or lapsed: the coupon page shows what it is now
    except HubError as error:
        return _refused(error)
    return _to_coupon(coupon.code)
