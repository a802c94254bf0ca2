"""The welcome message a customer gets right after adding a staff member through a contact-me code.

WeCom hands us a ``WelcomeCode`` with the add event; it works once and only for 20 seconds. The
message is therefore sent first, before anything else the add causes, from the urgent job lane.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from connectors.wecom.errors import WecomError, WelcomeCodeUsed
from hub.codes.models import Code
from hub.codes.targets import storefront_url
from hub.staff.models import Staff
from hub.wecom.connection import wecom_client
from hub.wecom.models import ContactWay

log = logging.getLogger("hub.wecom.welcome")

WINDOW_SECONDS = 20
# Leave room for the call itself: a code this close to expiry is not worth a doomed request.
SEND_MARGIN_SECONDS = 1.5
DEFAULT_TEXT = "{name}您好，我是{store}的{staff}，很高兴为您服务！有任何需要随时找我。"
DEFAULT_LINK_TITLE = "逛逛本店云货架"
COUPON_LINK_TITLE = "送您一张优惠券，点击领取"
MAX_TEXT = 4000  # the platform's limit on text content (bytes in UTF-8)


@dataclass(frozen=True)
class Welcome:
    text: str
    attachments: list[dict]


def compose(*, way: ContactWay | None, code: Code | None, staff: Staff, store_name: str, customer_name: str,
            claim_url: str | None = None) -> Welcome:
    """The code's own welcome, or the hub's default, with the customer's name, a link to the shelf and,
    when the code offers a coupon, the customer's own claim link."""
    template = (way.welcome_text if way else "") or DEFAULT_TEXT
    values = {"name": customer_name or "", "store": store_name, "staff": staff.name}
    try:
        text = template.format_map(_Blank(values))
    except (ValueError, IndexError):  # a stray brace in ops' text: send it as written rather than nothing
        text = template
    text = text.encode()[:MAX_TEXT].decode(errors="ignore")
    link_url = (way.welcome_link_url if way else "") or _shelf_url(code, staff)
    title = (way.welcome_link_title if way else "") or DEFAULT_LINK_TITLE
    attachments = [{"msgtype": "link", "link": {"title": title, "url": link_url}}] if link_url else []
    if claim_url:
        attachments.append({"msgtype": "link", "link": {"title": COUPON_LINK_TITLE, "url": claim_url}})
    return Welcome(text=text, attachments=attachments)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _shelf_url(code: Code | None, staff: Staff) -> str:
    store_code = code.store.code if code is not None and code.store_id and code.store else staff.store.code
    campaign_id = code.campaign_id if code is not None else None
    return storefront_url(store_code=store_code, campaign_id=campaign_id)


async def send(*, welcome_code: str, created_at: int, welcome: Welcome, now: float | None = None) -> str:
    """Send within the window; returns sent | used | expired | failed (never raises: the add must go on)."""
    # Real time, not hub.clock: WeCom's 20-second window runs on its clock from the add's CreateTime.
    now = time.time() if now is None else now
    if now - created_at > WINDOW_SECONDS - SEND_MARGIN_SECONDS:
        log.warning("welcome code came %.1fs after the add: too late to send", now - created_at)
        return "expired"
    try:
        await wecom_client().send_welcome_msg(
            welcome_code=welcome_code, text=welcome.text, attachments=welcome.attachments or None
        )
    except WelcomeCodeUsed:
        return "used"  # a retried job already sent it, or an admin's console welcome took it
    except WecomError as exc:
        log.warning("welcome message failed: %s", exc)
        return "failed"
    return "sent"
