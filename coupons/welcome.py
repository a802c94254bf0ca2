"""Which coupon batch a WeCom welcome message may carry (the hub asks through ``hub.wecom.hooks``)."""

from __future__ import annotations

from typing import cast

from coupons.models import BatchStatus, CouponBatch
from hub.errors import InvalidInput


async def check_welcome_batch(*, batch_id: int) -> None:
    """The batch must exist and not be ended; a paused one is allowed (the claim page says so while paused)."""
    status = cast(list[BatchStatus], await CouponBatch.filter(id=batch_id).values_list("status", flat=True))
    if not status:
        raise InvalidInput.field("welcome_coupon_batch_id", f"no coupon batch {batch_id}")
    if status[0] == BatchStatus.ENDED:
        raise InvalidInput.field("welcome_coupon_batch_id", f"coupon batch {batch_id} has ended")
