"""``/webhooks/wecom``: the URL WeCom calls back (no API key: the signature authenticates it).

GET answers the URL verification with the decrypted ``echostr``. POST verifies and decrypts the event
(in the ``VerifiedEvent`` dependency), stores its receipt and answers ``success`` at once; processing
runs in a job enqueued after the commit. A refused callback gets a 4xx problem naming the failed check
and leaves nothing behind; a receipt that cannot be stored gets a 503, never a 200, so WeCom retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import PlainTextResponse

from connectors.wecom.crypto import MAX_BODY_BYTES, CallbackCrypto, CallbackRejected, parse_fields
from hub.database import transaction
from hub.edge import APIRouter
from hub.errors import problems
from hub.settings import get_settings
from webhooks.wecom import service

log = logging.getLogger("webhooks.wecom")

# The receipt's own transaction: a receipt that cannot be stored is a 503, so WeCom retries.
router = APIRouter(prefix="/webhooks/wecom", tags=["webhooks"], own_transactions=True)

Signature = Annotated[str, Query(min_length=1, max_length=64, description="Hex SHA-1 signature")]
Timestamp = Annotated[str, Query(min_length=1, max_length=20, description="Unix seconds")]
Nonce = Annotated[str, Query(min_length=1, max_length=64)]
EchoStr = Annotated[str, Query(min_length=1, max_length=1024, description="Encrypted echo text")]


def _crypto() -> CallbackCrypto:
    return service.callback_crypto(get_settings())


Crypto = Annotated[CallbackCrypto, Depends(_crypto)]


@contextmanager
def _refusing() -> Iterator[None]:
    """Turn a failed check into a 4xx problem; the log names the reason, never the body."""
    try:
        yield
    except CallbackRejected as exc:
        log.warning("wecom callback refused: %s on %s: %s", exc.reason, exc.field, exc)
        raise service.CallbackRefused(exc) from None


async def _read_body(request: Request) -> bytes:
    """The body, refused as soon as it (declared or streamed) grows past the cap, before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise CallbackRejected("too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise CallbackRejected("too_large", f"the body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def verified_event(
    request: Request, crypto: Crypto, msg_signature: Signature, timestamp: Timestamp, nonce: Nonce
) -> dict[str, str]:
    """The event's fields, once the body passed every check of ``CallbackCrypto.open_event``."""
    with _refusing():
        body = await _read_body(request)
        inner = crypto.open_event(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce, body=body)
        return parse_fields(inner)


VerifiedEvent = Annotated[dict[str, str], Depends(verified_event)]


@router.get(
    "",
    response_class=PlainTextResponse,
    summary="WeCom's URL verification: answers the decrypted echostr",
    responses=problems(400, 403, 422, 503),
)
async def verify_url(
    crypto: Crypto, msg_signature: Signature, timestamp: Timestamp, nonce: Nonce, echostr: EchoStr
) -> PlainTextResponse:
    with _refusing():
        plaintext = crypto.verify_url(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce, echostr=echostr)
    return PlainTextResponse(plaintext)


@router.post(
    "",
    response_class=PlainTextResponse,
    summary="A WeCom event: stored as a receipt, answered at once, processed by a job",
    responses=problems(400, 403, 413, 422, 503),
)
async def receive_event(fields: VerifiedEvent) -> PlainTextResponse:
    try:
        async with transaction():
            await service.store_receipt(fields=fields)
    except Exception as exc:
        # Whatever kept the receipt from being stored (the database is down, say), WeCom must retry.
        log.exception("wecom callback %s not stored", service.kind(fields))
        raise service.ReceiptNotStored() from exc
    return PlainTextResponse("success")
