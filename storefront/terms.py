"""A batch's terms as a customer reads them: what it is worth, how long it is valid, where and when it may be
used. Shared by the coupon, claim-link and gift pages; only ``usable_where`` reads (the places' names)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from coupons.models import BatchKind, CouponBatch, CouponChannel
from coupons.rules import fixed_window
from hub.products.models import Product
from hub.regions.models import Region
from hub.schemas import SHANGHAI
from hub.stores.models import Store

# Keyed by str: a batch keeps its channels as the plain strings of its JSON column.
CHANNELS: dict[str, str] = {CouponChannel.STORE: "营业厅", CouponChannel.STOREFRONT: "线上商城",
                            CouponChannel.APP: "掌上营业厅App", CouponChannel.WECOM: "企业微信"}
CATEGORIES = {"light": "流量及加装包", "finance": "金融分期", "terminal": "手机终端", "home": "家庭宽带",
              "preference": "兴趣权益包", "scenario": "场景套餐", "equity": "会员权益"}
WEEKDAYS = "一二三四五六日"
STORES_SHOWN = 10

Where = list[tuple[str, str]]


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
    """A moment as read in Shanghai, to the minute: 2026年7月10日 12:00."""
    local = value.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def batch_validity(batch: CouponBatch) -> str:
    """The validity rule of a batch, before any coupon of it exists."""
    if batch.valid_days is not None:
        if batch.valid_start_days:
            return f"领取{batch.valid_start_days}天后生效，有效{batch.valid_days}天"
        return f"领取后{batch.valid_days}天内有效"
    starts, ends = fixed_window(batch)
    return f"{when(starts)} 至 {when(ends)}"


async def usable_where(batch: CouponBatch) -> Where:
    """(label, text) rows of where and when the coupon may be used; an empty scope reads as "any"."""
    rows = []
    places = []
    if batch.store_ids:
        names = cast(list[str], await Store.filter(id__in=batch.store_ids[:STORES_SHOWN]).order_by("id").values_list(
            "name", flat=True))
        more = len(batch.store_ids) - len(names)
        places.append("、".join(names) + (f" 等{len(batch.store_ids)}家门店" if more > 0 else ""))
    if batch.region_ids:
        names = cast(list[str], await Region.filter(id__in=batch.region_ids[:STORES_SHOWN]).order_by("id").values_list(
            "name", flat=True))
        places.append("、".join(names) + "的所有门店")
    rows.append(("适用门店", "；".join(p for p in places if p) or "全部门店"))
    rows.append(("适用渠道", "、".join(CHANNELS.get(c, c) for c in batch.channels) or "全部渠道"))
    goods = [CATEGORIES.get(c, c) for c in batch.categories]
    if batch.product_ids:
        goods += cast(list[str], await Product.filter(id__in=batch.product_ids[:STORES_SHOWN]).order_by(
            "id").values_list("name", flat=True))
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
