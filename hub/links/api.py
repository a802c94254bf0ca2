"""``GET /c/{slug}``: the public link behind every shared QR code, the hottest path of the product.

It answers 302 to the code's target with a signed attribution token (``hub_attr``) and records the scan
in memory (``hub.links.buffer``); nothing on a cache hit waits on the database or on Redis. The incoming
query string never changes the destination: only the QR marker ``src=qr`` is read, and it is not passed
on. It is a plain ASGI endpoint rather than a FastAPI route: no dependency solving, no Request object, no
response class, headers sent as prepared bytes. That is what keeps it near a bare framework endpoint.

Refusals (see ``pages``): 404 for an unknown slug (recorded as an orphan scan; counted against the
address for slug guessing, see ``throttle``), 410 for an expired, disabled, exhausted or ended code and
403 before its valid window (recorded with ``props.refused``, never counted), 429 while an address is
throttled (not recorded).
"""

from __future__ import annotations

import logging
import re

from starlette.routing import Route

from hub.edge import APIRouter
from hub.links import pages
from hub.links.buffer import BUFFER
from hub.links.cache import CACHE
from hub.links.throttle import THROTTLE
from hub.links.tokens import Signer, derive_key
from hub.links.useragents import UserAgent, classify_header
from hub.links.visitors import Hasher, from_cookie, new_id, set_cookie
from hub.settings import Settings, get_settings

log = logging.getLogger("hub.links")

# What may be looked up: the codes service makes 10 base62 characters, older or hand-made slugs 8 to 16.
_SLUG = re.compile(r"[A-Za-z0-9_-]{1,16}")
_QR_MARKER = b"src=qr"
HEAD_REQUEST = UserAgent("bot", "none", "bot:head_request")  # link checkers; browsers navigate with GET
_HTML = (b"content-type", b"text/html; charset=utf-8")
_NO_STORE = [(b"cache-control", b"no-store"), (b"referrer-policy", b"no-referrer")]
_REDIRECT_HEADERS = (_HTML, *_NO_STORE)


class _Keys:
    """Per-process signing state, built once from the settings (``lifecycle.start``) or on first use."""

    signer: Signer | None = None
    hasher: Hasher
    secure: bool


def configure(settings: Settings) -> Signer:
    """Build the process's keys; returns the signer (set on ``_Keys`` with the rest)."""
    signer = _Keys.signer = Signer(settings.secret, days=settings.attribution_token_days)
    _Keys.hasher = Hasher(derive_key(settings.secret, "visitor-hash"))
    _Keys.secure = settings.public_base_url.startswith("https://")
    return signer


async def public_link(scope, receive, send) -> None:
    """``/c/{slug}`` (see the module docstring)."""
    now = BUFFER.clock()
    client = scope.get("client")
    ip = client[0] if client else ""
    if THROTTLE.blocked:
        wait = THROTTLE.retry_after(ip, now)
        if wait:
            return await _page(send, 429, pages.fixed("throttled"), [(b"retry-after", str(wait).encode())])
    slug = scope["path_params"]["slug"]
    entry = CACHE.entries.get(slug)
    if entry is None or entry.fresh_until <= now:
        try:
            entry = await CACHE.lookup(slug, now) if _SLUG.fullmatch(slug) else None
        except Exception:
            log.exception("public link: cannot read code %r", slug)
            return await _page(send, 503, pages.fixed("unavailable"), [(b"retry-after", b"5")])
    ua, cookie, referer = b"", b"", None
    for name, value in scope["headers"]:
        if name == b"user-agent":
            ua = value
        elif name == b"cookie":
            cookie = value
        elif name == b"referer":
            referer = value
    agent = classify_header(ua) if scope["method"] == "GET" else HEAD_REQUEST
    query = scope["query_string"]
    qr = bool(query) and _QR_MARKER in query.split(b"&")
    signer = _Keys.signer
    if signer is None:
        signer = configure(get_settings())
    visitor = from_cookie(cookie) if cookie else None

    if entry is None:
        wait = await THROTTLE.miss(ip, now)
        if wait:
            return await _page(send, 429, pages.fixed("throttled"), [(b"retry-after", str(wait).encode())])
        BUFFER.add((now, None, slug, visitor or _Keys.hasher.visitor(ip, ua), agent, qr, ip, referer, None, ua))
        return await _page(send, 404, pages.fixed("not_found"))

    if entry.checked or not entry.opens <= now < entry.closes:
        refused = entry.refusal(now)
        if refused is not None:
            BUFFER.add((now, entry, slug, visitor or _Keys.hasher.visitor(ip, ua), agent, qr, ip, referer,
                        refused, ua))
            return await _refusal(send, entry, refused)

    cookie_header = None
    if agent.bot is not None:
        visitor = visitor or _Keys.hasher.visitor(ip, ua)  # no cookie for programs: they never keep one
    else:
        if visitor is None:
            visitor = new_id()
            cookie_header = (b"set-cookie", set_cookie(visitor, secure=_Keys.secure))
        if entry.scan_limit is not None:
            entry.counted_since_load += 1
    token = signer.sign(entry.token_prefix, visitor, int(now))
    BUFFER.add((now, entry, slug, visitor, agent, qr, ip, referer, None, ua))
    body = entry.body_head + token + entry.body_tail if agent is not HEAD_REQUEST else b""
    headers = [(b"location", entry.location_head + token + entry.location_tail),
               (b"content-length", str(len(body)).encode()), *_REDIRECT_HEADERS]
    if cookie_header is not None:
        headers.append(cookie_header)
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refusal(send, entry, reason: str) -> None:
    try:
        owner = await pages.owner_of(entry)
    except Exception:  # the page still answers, without the store
        log.exception("public link: cannot read the owner of code %s", entry.id)
        owner = None
    await _page(send, pages.STATUS[reason], pages.render(reason, owner))


async def _page(send, status: int, body: bytes, extra: list | None = None) -> None:
    headers = [_HTML, *_NO_STORE, (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Endpoint:
    """Starlette treats a callable object (unlike a function) as a raw ASGI app: no Request, no Response."""

    async def __call__(self, scope, receive, send) -> None:
        await public_link(scope, receive, send)


router = APIRouter(tags=["public links"])
router.routes.append(Route("/c/{slug}", _Endpoint(), methods=["GET"], name="public_link", include_in_schema=False))
