"""The staff session cookie and the sign-in state, both sealed with HMAC-SHA256.

Both are seals (``hub.links.seals``), each with a purpose of its own, so a sign-in state never passes as a
session nor the reverse. Anything malformed, tampered with or expired opens to None: the caller treats it
as signed out.

Session (``hub_staff``): [staff id, role, store id, issued, expires], 12 hours, Path=/ (the API's QR images
read it too), HttpOnly, SameSite=Lax, Secure when the hub is served over https. Every request re-reads the
staff row by primary key, so a member who is deactivated, or moved to another store or role, is signed out
at once instead of when the cookie expires.

Sign-in state: WeCom carries ``state`` through its authorize page but allows only a-zA-Z0-9, at most 128
bytes (developer.work.weixin.qq.com path/96714). So ``state`` is a random nonce, and the ``hub_staff_signin``
cookie holds the sealed [nonce, next, issued, expires] (10 minutes, Path=/staff/auth/). The callback accepts
a state only in the browser that started the sign-in (no login CSRF) and clears the cookie, so the same
state cannot complete a second sign-in there.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from hub.auth.models import Role
from hub.auth.service import Principal
from hub.links.seals import seal, unseal
from hub.settings import get_settings
from hub.staff.models import Staff, StaffRole

SESSION_COOKIE = "hub_staff"
SIGNIN_COOKIE = "hub_staff_signin"
SESSION_SECONDS = 12 * 3600
SIGNIN_SECONDS = 600
SIGNIN_COOKIE_PATH = "/staff/auth/"
HOME = "/staff/"
# A session is not an API key: no ApiKey row stands behind it. Only unsafe methods record key ids, and a
# session never authorises those (see hub.auth.deps.current_key).
SESSION_KEY_ID = 0
SESSION_PREFIX = "session"
# Staff roles map onto the API keys' store-scoped roles.
ROLES = {StaffRole.CLERK: Role.STAFF, StaffRole.MANAGER: Role.STORE_MANAGER,
         StaffRole.MANAGER_ON_DUTY: Role.STORE_MANAGER}

_SESSION_PURPOSE = "staff-session"
_SIGNIN_PURPOSE = "staff-signin-state"
# A same-site path: one slash then printable ASCII without spaces or backslashes. "//host" and "/\host"
# are taken by browsers as another host; control characters and spaces are dropped by some of them.
_NEXT = re.compile(r"/(?![/\\])[!-\[\]-~]*")
_NEXT_MAX = 512


def _secure() -> bool:
    return get_settings().public_base_url.startswith("https://")


def set_cookie(response: Response, name: str, value: str, *, max_age: int, path: str = "/") -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax", secure=_secure())


def clear_cookie(response: Response, name: str, *, path: str = "/") -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=_secure())


# ------------------------------------------------------------------------------------------ session


@dataclass(frozen=True)
class Session:
    staff_id: int
    role: Role
    store_id: int


def issue_session(*, staff_id: int, staff_role: StaffRole, store_id: int, now: float | None = None) -> str:
    """The cookie value signing a staff member in for 12 hours."""
    return seal(_SESSION_PURPOSE, [staff_id, ROLES[StaffRole(staff_role)].value, store_id],
                lifetime=SESSION_SECONDS, now=now)


def read_session(token: str | None, *, now: float | None = None) -> Session | None:
    data = unseal(_SESSION_PURPOSE, token, now=now)
    if data is None:
        return None
    staff_id, role, store_id = data
    return Session(staff_id=staff_id, role=Role(role), store_id=store_id)


async def principal_from_session(token: str | None, *, now: float | None = None) -> Principal | None:
    """The principal of a valid session whose staff member is still active in the same store and role."""
    session = read_session(token, now=now)
    if session is None:
        return None
    row = await Staff.filter(id=session.staff_id, active=True).first().values("role", "store_id")
    if row is None or ROLES[StaffRole(row["role"])] != session.role or row["store_id"] != session.store_id:
        return None
    return Principal(key_id=SESSION_KEY_ID, prefix=SESSION_PREFIX, role=session.role, store_id=session.store_id,
                     staff_id=session.staff_id)


async def principal_from_request(request: Request) -> Principal | None:
    """The request's session principal (the ``hub.auth.hooks.session_principal`` hook)."""
    return await principal_from_session(request.cookies.get(SESSION_COOKIE))


# ------------------------------------------------------------------------------------------ sign-in state


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site, else the staff home: never an open redirect."""
    if value and len(value) <= _NEXT_MAX and _NEXT.fullmatch(value):
        return value
    return HOME


def start_signin(next_path: str, *, now: float | None = None) -> tuple[str, str]:
    """A fresh ``state`` for WeCom's authorize URL and the sign-in cookie bound to it."""
    nonce = secrets.token_hex(16)
    return nonce, seal(_SIGNIN_PURPOSE, [nonce, safe_next(next_path)], lifetime=SIGNIN_SECONDS, now=now)


def finish_signin(state: str | None, cookie: str | None, *, now: float | None = None) -> str | None:
    """Where to go after signing in, when ``state`` is the one this browser's cookie was sealed with."""
    data = unseal(_SIGNIN_PURPOSE, cookie, now=now)
    if data is None or not state or not hmac.compare_digest(data[0].encode(), state.encode()):
        return None
    return safe_next(data[1])
