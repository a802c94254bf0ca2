"""What the WeCom side asks of other packages, without naming them (filled from their declarations).

The coupons package builds on the hub, so the hub cannot look at coupon batches itself: coupons fills
these in ``coupons/package.py``.
"""

from hub.hooks import Hook

# (batch_id) -> None, raising InvalidInput on the field: a welcome message may carry this batch's claim link.
check_welcome_coupon_batch = Hook("wecom.check_welcome_coupon_batch")
