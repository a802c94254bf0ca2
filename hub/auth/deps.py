"""FastAPI dependencies for authentication and roles.

Handlers declare who may call them with the aliases below (``key: OpsKey``); a missing or wrong key
answers 401, a valid key with the wrong role 403.

A request without a bearer key may instead carry a staff session cookie (``hub.staffweb.session``, through
the ``session_principal`` hook), for
GET and HEAD only: the staff pages show the API's QR images, under the same role and store scope as a
key. Unsafe methods never accept the cookie, so no other site can make a signed-in browser change anything.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.auth import hooks
from hub.auth.models import Role
from hub.auth.service import Principal, authenticate
from hub.errors import Forbidden

# Reads only. SameSite=Lax already keeps the cookie off cross-site posts; this holds where a browser does not.
SESSION_METHODS = frozenset({"GET", "HEAD"})


class KeyCheck(HTTPBearer):
    """The caller's key, checked against the roles a route allows (any role when ``roles`` is None).

    One dependency, not a chain (bearer → key → role): FastAPI resolves each dependency of every request
    anew, which cost the hot lists more CPU than their query. As an ``HTTPBearer`` it still puts the bearer
    scheme on every operation of the OpenAPI document."""

    def __init__(self, roles: frozenset[Role] | None = None) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description="An API key made with `hub keys create`")
        self.roles = roles

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]  # a Principal, not credentials
        principal = await current_key(request, await super().__call__(request))
        if self.roles is not None and principal.role not in self.roles:
            raise Forbidden(f"Role {principal.role.value} may not do this")
        return principal


async def current_key(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The bearer key's principal, or for a read without one, the staff session's."""
    if credentials is None and request.method in SESSION_METHODS:
        from_session = hooks.session_principal.only()
        principal = await from_session(request) if from_session is not None else None
        if principal is not None:
            request.state.key_prefix = principal.prefix
            return principal
    principal = await authenticate(credentials.credentials if credentials else None)
    request.state.key_prefix = principal.prefix
    return principal


CurrentKey = Annotated[Principal, Depends(KeyCheck())]


def require(*roles: Role) -> Any:
    return Depends(KeyCheck(frozenset(roles)))


HUMANS = (Role.STAFF, Role.STORE_MANAGER, Role.OPS, Role.ADMIN)
OpsKey = Annotated[Principal, require(Role.OPS, Role.ADMIN)]
ManagerKey = Annotated[Principal, require(Role.STORE_MANAGER, Role.OPS, Role.ADMIN)]
HumanKey = Annotated[Principal, require(*HUMANS)]
# A business sign-off (a campaign, a coupon batch): ops only, never admin, which manages keys and could
# otherwise mint the second key a maker-checker rule asks for.
ApproverKey = Annotated[Principal, require(Role.OPS)]
AnyKey = CurrentKey
