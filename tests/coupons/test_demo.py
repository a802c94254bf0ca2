"""``hub coupons demo``: the demo's coupons go through the real services and a second run changes nothing."""

from coupons.demo import load_demo_coupons
from coupons.models import BatchStatus, Coupon, CouponLedger, CouponState
from coupons.partner_codes.models import PartnerCode
from hub.demo.data import load_demo_data
from hub.links.coupon_links import verify_claim_token


async def _ledger() -> dict[str, int]:
    rows = await CouponLedger.all().values_list("operation", flat=True)
    return {op: rows.count(op) for op in sorted(set(rows))}


async def test_demo_coupons_are_made_once_through_the_services():
    await load_demo_data()
    first = await load_demo_coupons()

    assert [b.status for b in first.batches] == [BatchStatus.ACTIVE] * 4
    assert await _ledger() == {"cancel_redemption": 1, "claim": 18, "issue": 1, "redeem": 4, "return": 1}
    assert await Coupon.filter(state=CouponState.REDEEMED).count() == 2  # 4 redeemed, one cancelled, one returned
    assert await PartnerCode.filter(coupon_id__isnull=False).count() == 3
    issued = await Coupon.get(state=CouponState.ISSUED)
    assert first.issued_page.endswith(f"/s/coupons/{issued.code}")
    link = verify_claim_token(first.claim_link.rsplit("/", 1)[1])
    assert link.batch_id == first.batches[1].id

    second = await load_demo_coupons()
    assert [b.id for b in second.batches] == [b.id for b in first.batches]
    assert await _ledger() == {"cancel_redemption": 1, "claim": 18, "issue": 1, "redeem": 4, "return": 1}
    assert second.claimed_page == first.claimed_page
