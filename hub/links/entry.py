"""One cached code, with everything the redirect needs worked out once (bytes, bounds, token prefix)."""

from __future__ import annotations

import html
import math
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from hub.links.tokens import payload_prefix

# The Code columns a cached entry is built from (also what Redis stores, times as Unix seconds).
FIELDS = ("id", "slug", "version", "kind", "target_url", "store_id", "staff_id", "product_id", "campaign_id",
          "channel", "valid_from", "valid_until", "live_starts_at", "live_ends_at", "scan_limit",
          "scans_counted", "active")
PARAM = "hub_attr"
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


class CodeEntry:
    """Read by the redirect on every scan: attributes only, no properties on the hot path."""

    __slots__ = ("data", "id", "slug", "store_id", "staff_id", "product_id", "campaign_id", "channel", "kind",
                 "opens", "closes", "closed_reason", "checked", "active", "scan_limit", "scans_counted",
                 "counted_since_load", "fresh_until", "token_prefix", "location_head", "location_tail",
                 "body_head", "body_tail", "owner")

    def __init__(self, data: dict, *, fresh_until: float) -> None:
        self.data = data
        self.id: int = data["id"]
        self.slug: str = data["slug"]
        self.store_id = data["store_id"]
        self.staff_id = data["staff_id"]
        self.product_id = data["product_id"]
        self.campaign_id = data["campaign_id"]
        self.channel: str = data["channel"] or ""
        self.kind: str = str(data["kind"])
        self.active: bool = bool(data["active"])
        self.scan_limit: int | None = data["scan_limit"]
        self.scans_counted: int = data["scans_counted"] or 0
        self.counted_since_load = 0  # scans this process counted since the entry was read
        self.fresh_until = fresh_until
        self.opens = data["valid_from"] if data["valid_from"] is not None else -math.inf
        self.closes, self.closed_reason = math.inf, ""
        if data["valid_until"] is not None:
            self.closes, self.closed_reason = data["valid_until"], "expired"
        # Livestream links: after the live window the link is over; before it, the live room shows its
        # own countdown, so the redirect goes ahead.
        if self.kind == "livestream" and data["live_ends_at"] is not None and data["live_ends_at"] < self.closes:
            self.closes, self.closed_reason = data["live_ends_at"], "ended"
        # False when the redirect needs no check beyond the time window (the common case).
        self.checked = (not self.active) or self.scan_limit is not None
        self.token_prefix = payload_prefix(
            code_id=self.id, slug=self.slug, store_id=self.store_id, staff_id=self.staff_id,
            product_id=self.product_id, campaign_id=self.campaign_id, channel=self.channel,
        )
        head, tail = split_target(data["target_url"])
        self.location_head, self.location_tail = head.encode(), tail.encode()
        self.body_head = b'<a href="' + html.escape(head).encode()
        self.body_tail = html.escape(tail).encode() + '">继续访问</a>'.encode()
        self.owner: dict | None = None  # store / staff shown on the "no longer valid" page, read on demand

    def refusal(self, now: float) -> str | None:
        """Why the link does not redirect now (expired, ended, not_started, disabled, exhausted), or None."""
        if not self.active:
            return "disabled"
        if now >= self.closes:
            return self.closed_reason
        if now < self.opens:
            return "not_started"
        if self.scan_limit is not None and self.scans_counted + self.counted_since_load >= self.scan_limit:
            return "exhausted"
        return None


def split_target(target: str) -> tuple[str, str]:
    """The target cut where the token goes: (everything up to ``hub_attr=``, the fragment).

    Non-ASCII characters are percent-encoded (a header is bytes); a ``hub_attr`` already in the target is
    dropped, so the token the redirect appends is the only one.
    """
    target = quote(target, safe=_URL_SAFE)
    parts = urlsplit(target)
    query = parts.query
    if PARAM in query:
        query = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != PARAM])
    base = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))
    if query:
        base += "&"
    else:
        base = base.rstrip("?") + "?"
    return base + PARAM + "=", ("#" + parts.fragment) if parts.fragment else ""
