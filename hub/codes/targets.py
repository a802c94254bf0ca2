"""Where a code may send people: never an open redirect, never back to a code.

Storefront targets are built by the hub from the attribution, so nobody can type one. WeCom contact-me
and livestream targets come from the caller and must be plain absolute https URLs whose host is on the
configured list (``HUB_WECOM_CONTACT_HOSTS``, ``HUB_LIVESTREAM_HOSTS``). Anything a browser could read
differently from us (user info, backslashes, percent-encoded or Unicode hosts, odd ports) is refused
rather than normalised: the URL stored is exactly the URL checked.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote, unquote, urlsplit

from hub.codes.models import TargetKind
from hub.errors import InvalidInput
from hub.settings import get_settings

FIELD = "target_url"
MAX_URL_LENGTH = 1000
_DEFAULT_PORTS = {"https": 443, "http": 80}
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_HOST_RE = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")


def _refuse(message: str) -> InvalidInput:
    return InvalidInput.field(FIELD, message)


def storefront_url(*, store_code: str | None, product_sku: str | None = None, campaign_id: int | None = None) -> str:
    """Our H5 storefront page for this attribution: /s/{store}[/p/{sku}] or /p/{sku}, plus ?campaign=."""
    base = get_settings().public_base_url.rstrip("/")
    path = f"/s/{quote(store_code, safe='')}" if store_code else ""
    if product_sku:
        path += f"/p/{quote(product_sku, safe='')}"
    query = f"?campaign={campaign_id}" if campaign_id is not None else ""
    return f"{base}{path or '/s'}{query}"


def pending_contact_target(*, store_code: str | None) -> str:
    """Where a contact-me code leads until WeCom has made its contact way: its store's storefront."""
    return storefront_url(store_code=store_code)


def check_target_url(url: str, *, target_kind: TargetKind) -> str:
    """The caller's URL for a WeCom contact-me or livestream target, checked against the settings."""
    settings = get_settings()
    if target_kind == TargetKind.WECOM_CONTACT:
        hosts = settings.hosts(settings.wecom_contact_hosts)
    elif target_kind == TargetKind.LIVESTREAM:
        hosts = settings.hosts(settings.livestream_hosts)
    else:
        raise _refuse("storefront targets are built by the hub; leave target_url out")
    return check_url(url, allowed_hosts=hosts, public_base_url=settings.public_base_url)


def check_url(url: str, *, allowed_hosts: list[str], public_base_url: str, allow_own_origin: bool = False) -> str:
    """Return ``url`` unchanged when it is safe to redirect to, else raise InvalidInput on ``target_url``.

    ``allowed_hosts`` entries match a host exactly, or, written with a leading dot, any subdomain of it.
    ``allow_own_origin`` admits our own public origin (http too when the public base is http).
    """
    if not isinstance(url, str) or not url:
        raise _refuse("must be an absolute https:// URL")
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"must be at most {MAX_URL_LENGTH} characters")
    # Printable ASCII only: no whitespace or control characters (browsers strip some of them and read
    # the rest differently) and no Unicode that IDNA would fold into another host (fullwidth dots, homoglyphs).
    if any(not 0x21 <= ord(c) <= 0x7E for c in url):
        raise _refuse("must be printable ASCII without spaces or control characters (percent-encode the rest)")
    if "\\" in url:
        raise _refuse("must not contain backslashes")
    scheme_match = _SCHEME_RE.match(url)
    if scheme_match is None:
        raise _refuse("must be an absolute https:// URL, not a relative or protocol-relative one")
    scheme = scheme_match.group(1).lower()
    if scheme not in _DEFAULT_PORTS:
        raise _refuse(f"the scheme {scheme}: is not allowed; use https://")
    rest = url[scheme_match.end():]
    if not rest.startswith("//") or rest.startswith("///"):
        raise _refuse("must be an absolute https:// URL with a host")
    parts = urlsplit(url)
    netloc = parts.netloc.lower()
    if "@" in netloc:
        raise _refuse("must not carry a user name or password before the host")
    if "%" in netloc:
        raise _refuse("the host must not be percent-encoded")
    if "[" in netloc or "]" in netloc:
        raise _refuse("IP address literals are not allowed")
    own = urlsplit(public_base_url)
    host, _, port = netloc.partition(":")
    if host == (own.hostname or "") and _under_code_links(parts.path, own.path):
        raise _refuse("must not point at a code link of this hub (it would loop)")
    if allow_own_origin and netloc == own.netloc.lower() and scheme == own.scheme:
        return url
    if scheme != "https":
        raise _refuse("must use https://")
    if ":" in netloc and (not port.isdigit() or int(port) != _DEFAULT_PORTS[scheme]):
        raise _refuse(f"the port {port or '(empty)'} is not allowed; leave the default")
    if not _HOST_RE.fullmatch(host):
        raise _refuse(f"the host {host} is not a plain host name")
    if not _host_allowed(host, allowed_hosts):
        raise _refuse(f"the host {host} is not on the allowed list ({', '.join(allowed_hosts) or 'empty'})")
    return url


def _host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    for entry in allowed_hosts:
        entry = entry.lower()
        if host == entry:
            return True
        if entry.startswith(".") and host.endswith(entry):
            # A trusted parent domain does not vouch for punycode labels below it (look-alike names).
            extra = host[: -len(entry)].split(".")
            if extra and all(label and not label.startswith("xn--") for label in extra):
                return True
    return False


def _under_code_links(path: str, base_path: str) -> bool:
    """True when ``path``, decoded and normalised as a server might, lies under our /c/ links."""
    for _ in range(3):  # double encoding (%252F) decodes in steps
        path = unquote(path)
    normal = posixpath.normpath(re.sub(r"/+", "/", "/" + path.lower()))
    prefix = base_path.rstrip("/").lower() + "/c"
    return normal == prefix or normal.startswith(prefix + "/")
