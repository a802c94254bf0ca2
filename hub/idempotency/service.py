"""Idempotent client writes: a retried request with the same Idempotency-Key gets the first answer
(for 24 hours; `idempotency_prune` forgets older answers).

Run inside the request's transaction, so the stored answer commits together with the change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel

from hub.auth.service import Principal
from hub.errors import InvalidInput
from hub.idempotency.models import IdempotencyRecord

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Send the same key when retrying a write: the first answer is returned again.",
    ),
]


def _fingerprint(body: Any) -> str:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def idempotent(
    *,
    key: str | None,
    principal: Principal,
    endpoint: str,
    body: Any,
    action: Callable[[], Awaitable[BaseModel]],
    status_code: int = 200,
) -> BaseModel | dict:
    """Run ``action`` once per (caller, key); a repeat returns the stored answer."""
    if key is None:
        return await action()
    fingerprint = _fingerprint(body)
    record = await IdempotencyRecord.get_or_none(scope=principal.prefix, key=key)
    if record is not None:
        if record.endpoint != endpoint or record.request_hash != fingerprint:
            raise InvalidInput.field("Idempotency-Key", "was already used for a different request")
        return record.response
    result = await action()
    await IdempotencyRecord.create(
        scope=principal.prefix,
        key=key,
        endpoint=endpoint,
        request_hash=fingerprint,
        status_code=status_code,
        response=result.model_dump(mode="json"),
    )
    return result
