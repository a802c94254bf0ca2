"""Expiry reminders, routed once per coupon (``coupons.reminders.service``)."""

from __future__ import annotations

from coupons.reminders import service as reminders
from hub.jobs import periodic
from hub.jobs.chunks import in_chunks


@periodic(every_seconds=900)
async def coupons_remind_expiring(ctx: dict) -> int:
    # Routes each due coupon once; WeCom is reached by the outbox after each chunk commits.
    return await in_chunks(reminders.remind_due)
