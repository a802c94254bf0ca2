"""The outbox handler that tells staff something in the WeCom app (a store manager that a customer was
lost: ``service.tell_store_manager``). Safe to repeat: a duplicate notice harms nobody."""

from __future__ import annotations

from hub.outbox.models import OutboxMessage
from hub.outbox.service import handler
from hub.wecom.connection import wecom_client


@handler("wecom.app_message")
async def app_message(message: OutboxMessage) -> None:
    """A text message to staff in the WeCom app (e.g. a store manager told that a customer was lost)."""
    await wecom_client().send_app_message(touser=message.payload["touser"], content=message.payload["content"])
