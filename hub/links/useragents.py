"""Who is scanning: a person (and in which app) or a crawler / link-preview fetcher.

Flagged scans are redirected like any other, stored with ``counted=false`` and never counted. The rules,
in order:

1. No User-Agent at all: a script (``bot:no_user_agent``).
2. A token from ``bots.csv`` (the public, well-known crawlers, link unfurlers, HTTP libraries, headless
   browsers and uptime monitors): ``<kind>:<token>``.
3. Our own WeChat / WeCom heuristics — no public list knows these fetchers, so they are ours to maintain:
   a UA with ``MicroMessenger`` or ``wxwork`` but no platform token (no Mobile, iPhone, iPad, Android,
   HarmonyOS, Windows, Macintosh, Linux — WeChat's and WeCom's in-app browsers on phones and desktops
   always carry one) is the server-side fetcher that builds the share card (``preview:wechat_card`` /
   ``preview:wecom_card``). The in-app browsers themselves are people: ``in_app`` wechat / wecom.
4. Not starting with ``Mozilla/``: every browser and in-app web view sends that prefix, so anything else is
   a program fetching the link (``bot:not_a_browser``).

Flagged scans keep the UA (truncated) in their props, so new fetchers can be spotted and added here.
Classification is cached per distinct UA string: a few thousand strings cover nearly all traffic.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources
from typing import NamedTuple


class UserAgent(NamedTuple):
    ua_class: str  # mobile, tablet, desktop, bot, preview
    in_app: str  # wechat, wecom, other_app, none
    bot: str | None  # why it is not a person (None for people)

    @property
    def counted(self) -> bool:
        return self.bot is None


def _load_tokens() -> dict[str, str]:
    text = resources.files("hub.links").joinpath("bots.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    return {row["token"].strip().lower(): row["kind"].strip() for row in rows}


BOT_TOKENS = _load_tokens()
_BOT_RE = re.compile("|".join(re.escape(t) for t in sorted(BOT_TOKENS, key=len, reverse=True)))
_PREVIEW_KINDS = {"preview"}

# Platform tokens every in-app browser carries (lower case); a WeChat UA without any is a fetcher.
_PLATFORMS = ("mobile", "iphone", "ipad", "android", "harmonyos", "openharmony", "windows", "macintosh",
              "mac os x", "linux")
# Other apps' in-app browsers (lower-case tokens): people, counted as other_app.
_OTHER_APPS = ("alipayclient", "dingtalk", " qq/", "weibo", "aweme", "bytedancewebview", "newsarticle",
               "bytelocale", "kwai", "xhsdiscover", "baiduboxapp", "lark/", "feishu", "taobao", "aliapp(",
               "meituan", "pinduoduo", "jdapp", "ctrip", "fbav", "instagram", "line/", "unionpay")

NO_USER_AGENT = UserAgent("bot", "none", "bot:no_user_agent")


@lru_cache(maxsize=8192)
def classify(ua: str) -> UserAgent:
    """Classify one User-Agent string (cached: the redirect calls this on every scan)."""
    if not ua.strip():
        return NO_USER_AGENT
    lower = ua.lower()
    found = _BOT_RE.search(lower)
    if found:
        kind = BOT_TOKENS[found.group(0)]
        return UserAgent("preview" if kind in _PREVIEW_KINDS else "bot", "none", f"{kind}:{found.group(0)}")
    in_app = "wecom" if "wxwork" in lower else "wechat" if "micromessenger" in lower else None
    has_platform = any(p in lower for p in _PLATFORMS)
    if in_app and not has_platform:
        return UserAgent("preview", "none", f"preview:{in_app}_card")
    if not ua.startswith("Mozilla/"):
        return UserAgent("bot", "none", "bot:not_a_browser")
    if in_app is None:
        in_app = "other_app" if any(app in lower for app in _OTHER_APPS) else "none"
    return UserAgent(_device(lower), in_app, None)


@lru_cache(maxsize=8192)
def classify_header(raw: bytes) -> UserAgent:
    """``classify`` for the raw header bytes, cached on them (no decoding on a hit)."""
    return classify(raw.decode("latin-1"))


def _device(lower: str) -> str:
    if "ipad" in lower or ("android" in lower and "mobile" not in lower):
        return "tablet"
    if any(t in lower for t in ("mobile", "iphone", "android", "harmonyos", "openharmony")):
        return "mobile"
    return "desktop"
