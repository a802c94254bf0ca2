"""Who the scanner is, anonymously, and what little we keep about the request.

A visitor is the ``hub_vid`` cookie: a random id set on the first redirect (HttpOnly, SameSite=Lax, one
year, path=/), carried by the attribution token and by every scan after. Clients we do not give a cookie
(crawlers and preview fetchers, which never keep one) are a keyed hash of IP + User-Agent, so repeated
fetches collapse into one id. A person without a cookie gets a fresh random id rather than the hash: one
store's Wi-Fi puts many iPhones with the same iOS and WeChat version (identical User-Agents) behind one
address, and a hash would merge them into one visitor, mixing their attribution for good once the
cookie carried it. The cost: someone who refuses cookies counts as a new unique scanner on each scan.

IP addresses are never stored: IPv4 keeps its first 24 bits, IPv6 its first 48 (the last 80 zeroed).
Referrers keep host and path only (no query: it may carry tokens), truncated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
from functools import lru_cache
from urllib.parse import urlsplit

COOKIE = "hub_vid"
COOKIE_BYTES = COOKIE.encode() + b"="
MAX_AGE = 365 * 86400
_VALID = re.compile(rb"[A-Za-z0-9_-]{8,40}")
_REFERRER_MAX = 200
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def new_id() -> str:
    """A random visitor id: "v" and 20 URL-safe characters (120 bits from the OS's CSPRNG)."""
    return "v" + binascii.b2a_base64(os.urandom(15), newline=False).translate(_URLSAFE).decode()


def from_cookie(header: bytes) -> str | None:
    """The visitor id in a Cookie header, when there is a well-formed one."""
    start = header.find(COOKIE_BYTES)
    while start > 0 and header[start - 1 : start] not in (b" ", b";"):  # "xhub_vid=" is another cookie
        start = header.find(COOKIE_BYTES, start + 1)
    if start < 0:
        return None
    start += len(COOKIE_BYTES)
    end = header.find(b";", start)
    value = header[start:] if end < 0 else header[start:end]
    value = value.strip()
    return value.decode() if _VALID.fullmatch(value) else None


class Hasher:
    """The keyed hash of IP + User-Agent for clients without a cookie (key derived from the secret)."""

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def visitor(self, ip: str, user_agent: bytes) -> str:
        mac = self._mac.copy()
        mac.update(ip.encode() + b"\n" + user_agent)
        return "h" + base64.urlsafe_b64encode(mac.digest()[:15]).decode()


def set_cookie(visitor_id: str, *, secure: bool) -> bytes:
    """The Set-Cookie header value that keeps the visitor id for a year."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={visitor_id}; Max-Age={MAX_AGE}; Path=/; HttpOnly; SameSite=Lax{flags}".encode()


_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}")


@lru_cache(maxsize=65536)  # many scans share an address (carrier NAT, store Wi-Fi)
def anonymise_ip(ip: str | None) -> str:
    """IPv4 with the last octet zeroed, IPv6 with the last 80 bits zeroed; "" when not an address."""
    if ip and ip[0] != ":":
        head = _IPV4.match(ip)  # the common case, without building address objects
        if head and ip[head.end() :].isdigit() and int(ip[head.end() :]) < 256:
            return head.group(0) + "0"
    try:
        address = ipaddress.ip_address((ip or "").split("%", 1)[0])
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.version == 4:
        return str(ipaddress.IPv4Address(int(address) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(address) & ~((1 << 80) - 1)))


def referrer(raw: bytes | None) -> str | None:
    """Host and path of the Referer header, truncated; None when absent or not an http(s) URL."""
    if not raw:
        return None
    try:
        parts = urlsplit(raw.decode("latin-1"))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return printable((parts.hostname + parts.path)[:_REFERRER_MAX])


def printable(text: str) -> str:
    """Drops control characters: PostgreSQL refuses NUL in JSON, and nothing else here needs them."""
    return "".join(c for c in text if c.isprintable())
