"""One problem format (RFC 9457) for every error the API answers.

Domains declare typed errors (``class CampaignNotDraft(Conflict)``); one handler renders them. Routes
declare the statuses they may answer with ``responses=problems(401, 403, 404)`` so OpenAPI shows them.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("hub.errors")

T = TypeVar("T")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str
    line: int | None = None  # for file uploads: the line of the file


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str = ""
    request_id: str | None = None
    errors: list[FieldError] = []


class HubError(Exception):
    """Base of every error a client can cause; subclasses set status, slug and title."""

    status = 400
    slug = "bad-request"
    title = "Bad request"
    headers: dict[str, str] = {}  # e.g. Retry-After on an answer that asks the client to come back

    def __init__(self, detail: str = "", *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []


class InvalidInput(HubError):
    status = 422
    slug = "validation"
    title = "The request has invalid fields"

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class Unauthenticated(HubError):
    status = 401
    slug = "unauthenticated"
    title = "A valid API key is required"


class Forbidden(HubError):
    status = 403
    slug = "forbidden"
    title = "This key may not do that"


class NotFound(HubError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(HubError):
    status = 409
    slug = "conflict"
    title = "Conflicts with the current state"


class PayloadTooLarge(HubError):
    status = 413
    slug = "too-large"
    title = "The request body is too large"


class BrokenInvariant(RuntimeError):
    """Something the code relies on did not hold: a bug or a damaged row, never the client's doing (a 500)."""


def present(value: T | None, why: str) -> T:
    """``value``, which cannot be None here for the reason ``why`` gives; None raises BrokenInvariant with it.

    The narrowing of ``assert value is not None`` for the type checker, but kept under ``python -O`` and with
    the reason in the log instead of an AttributeError further on."""
    if value is None:
        raise BrokenInvariant(f"unexpected None: {why}")
    return value


_TITLES = {
    400: "Bad request",
    401: Unauthenticated.title,
    403: Forbidden.title,
    404: NotFound.title,
    405: "Method not allowed",
    409: Conflict.title,
    413: PayloadTooLarge.title,
    415: "Unsupported media type",
    422: InvalidInput.title,
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def problem_response(
    request: Request, *, status: int, slug: str, title: str, detail: str, errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"/problems/{slug}",
        title=title,
        status=status,
        detail=detail,
        request_id=getattr(request.state, "request_id", None),
        errors=errors or [],
    )
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declaration of the problem answers a route may give."""
    return {
        status: {"model": Problem, "description": _TITLES.get(status, "Error"), "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in statuses
    }


def _field_name(loc: tuple | list) -> str:
    # ("body", "stores", 0, "name") -> "stores[0].name"; the "body"/"query" prefix is kept for non-body parts.
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def validation_errors(errors: list[dict]) -> list[FieldError]:
    return [FieldError(field=_field_name(e.get("loc", ())), message=e.get("msg", "invalid")) for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    async def hub_error(request: Request, exc: HubError) -> JSONResponse:
        return problem_response(
            request, status=exc.status, slug=exc.slug, title=exc.title, detail=exc.detail, errors=exc.errors,
            headers=exc.headers,
        )

    async def request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        return problem_response(
            request, status=422, slug=InvalidInput.slug, title=InvalidInput.title, detail=detail, errors=errors
        )

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        title = _TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        response = problem_response(request, status=exc.status_code, slug=slug, title=title, detail=detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, status=500, slug="internal", title="Internal error", detail="Internal error")

    # Starlette types every handler as taking any Exception; it calls each only with the class it is registered for.
    app.add_exception_handler(HubError, hub_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)
