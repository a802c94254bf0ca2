"""The outbox handler that marks a customer added through a code with the code's corp tags.

Safe to repeat (marking a tag twice harms nobody), which the outbox's at-least-once delivery needs.
"""

from __future__ import annotations

import logging

from connectors.wecom.errors import WecomError, WecomNotFound
from hub.database import transaction
from hub.outbox.models import OutboxMessage
from hub.outbox.service import handler
from hub.wecom.connection import wecom_client

log = logging.getLogger("hub.wecom.deliveries")  # the name the logs have carried (the module was deliveries)
INVALID_TAG = 40068


@handler("wecom.mark_tag")
async def mark_tag(message: OutboxMessage) -> None:
    """Tag a customer just added through a code with the code's corp tags (names resolved to ids)."""
    from hub.wecom.tags.service import forget, tag_ids_for

    payload = message.payload
    tag_ids = await tag_ids_for(payload["tag_names"])
    if not tag_ids:
        return
    try:
        await wecom_client().mark_tag(userid=payload["userid"], external_userid=payload["external_userid"],
                                      add_tag=tag_ids)
    except WecomNotFound as exc:  # removed again before we got to it: nothing left to tag, not worth retrying
        log.info("not tagging %s: %s", payload["external_userid"], exc)
    except WecomError as exc:
        if exc.errcode == INVALID_TAG:  # a cached tag was deleted in the console: look the names up afresh
            async with transaction():
                await forget(tag_ids)
        raise  # the outbox retries
