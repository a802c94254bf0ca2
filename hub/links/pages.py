"""The small Chinese pages the public link answers when it does not redirect.

404: no such code. 410: the code is over (expired, disabled, scan limit reached, live stream ended) and
the page points to the store, or to the staff member and their store, so the scan still leads somewhere.
403: the code's valid window has not started yet. 429: too many unknown links from one address.
503: the database cannot be reached for a code not in the cache.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from hub.links.entry import CodeEntry
from hub.staff.models import Staff
from hub.stores.models import Store

STATUS = {"expired": 410, "disabled": 410, "exhausted": 410, "ended": 410, "not_started": 403}
TEXTS = {
    "not_found": ("链接不存在", "这个二维码或链接无效，请核对后重试，或联系为您服务的店员。"),
    "expired": ("活动已结束", "这个二维码已过有效期。"),
    "disabled": ("二维码已停用", "这个二维码已停止使用。"),
    "exhausted": ("活动名额已满", "这个二维码的扫码次数已达上限。"),
    "ended": ("直播已结束", "本场直播已经结束，感谢关注。"),
    "not_started": ("活动尚未开始", "这个二维码还未到生效时间，请稍后再来。"),
    "throttled": ("访问过于频繁", "请稍后再试。"),
    "unavailable": ("服务繁忙", "请稍后再试。"),
}

_env = Environment(loader=PackageLoader("hub.links", "templates"), autoescape=select_autoescape(["html"]))
_template = _env.get_template("link_page.html")


def render(reason: str, owner: dict | None = None) -> bytes:
    title, message = TEXTS[reason]
    return _template.render(title=title, message=message, **(owner or {})).encode()


@cache
def fixed(reason: str) -> bytes:
    """Pages without a store on them never change: rendered once."""
    return render(reason)


async def owner_of(entry: CodeEntry) -> dict:
    """The staff member and store a code belongs to (read once per cached entry, on the refusal path)."""
    if entry.owner is not None:
        return entry.owner
    owner: dict = {}
    store_id = entry.store_id
    if entry.staff_id is not None:
        staff = await Staff.filter(id=entry.staff_id).first().values("name", "store_id")
        if staff:
            owner["staff_name"] = staff["name"]
            store_id = store_id or staff["store_id"]
    if store_id is not None:
        store = await Store.filter(id=store_id).first().values("name", "address", "phone")
        if store:
            owner.update(store_name=store["name"], store_address=store["address"], store_phone=store["phone"])
    entry.owner = owner
    return owner
