"""The page a coupon share link opens: the offer while it is pending, a clear end page otherwise, and never
the coupon's code."""

from datetime import UTC, datetime, timedelta

from coupons.gifting import service as gifting
from hub import clock
from hub.database import transaction
from tests.coupons.helpers import NOW, OPS, claim, make_batch, make_customer, request_id


async def _shared(*, ttl_hours=72):
    owner = await make_customer()
    now = datetime.now(UTC)
    coupon = (await claim(await make_batch(face_value_fen=800), owner, now=now)).coupon
    async with transaction():
        gift = await gifting.share(code=coupon.code, customer_id=owner.id, request_id=request_id(), actor=OPS,
                                   ttl_hours=ttl_hours, now=now)
    return coupon, owner, gift.share


async def test_a_pending_share_shows_the_offer_without_the_code(client):
    coupon, _, share = await _shared()
    page = await client.get(f"/s/gifts/{share.token}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "好友送您一张优惠券" in page.text and "¥</small>8" in page.text and "掌上营业厅 App" in page.text
    grouped = " ".join(coupon.code[i:i + 4] for i in range(0, 16, 4))
    assert coupon.code not in page.text and grouped not in page.text and "<svg" not in page.text


async def test_accepted_revoked_expired_and_unknown_links_say_so(client):
    _, owner, accepted = await _shared()
    async with transaction():
        await gifting.accept(token=accepted.token, customer_id=(await make_customer()).id, request_id=request_id(),
                             actor=OPS)
    _, owner, revoked = await _shared()
    async with transaction():
        await gifting.revoke(token=revoked.token, customer_id=owner.id, request_id=request_id(), actor=OPS)
    _, _, lapsed = await _shared(ttl_hours=1)
    lapsed.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    await lapsed.save(update_fields=["expires_at"])
    for token, status, words in [(accepted.token, 410, "已被领取"), (revoked.token, 410, "转赠已取消"),
                                 (lapsed.token, 410, "链接已过期"), ("x" * 40, 404, "链接无效"),
                                 ("y" * 500, 404, "链接无效")]:
        page = await client.get(f"/s/gifts/{token}")
        assert (page.status_code, words in page.text) == (status, True), (token[:8], page.status_code)


async def test_the_offer_is_shown_until_the_frozen_clock_passes_its_end(client):
    """The gift page reads ``hub.clock``: the same link is on offer, then lapsed, as the frozen time moves."""
    owner = await make_customer()
    coupon = (await claim(await make_batch(face_value_fen=800), owner, now=NOW)).coupon
    async with transaction():
        share = (await gifting.share(code=coupon.code, customer_id=owner.id, request_id=request_id(), actor=OPS,
                                     ttl_hours=72, now=NOW)).share
    with clock.frozen(NOW + timedelta(hours=71)):
        offered = await client.get(f"/s/gifts/{share.token}")
    assert offered.status_code == 200 and "领取截止：2026年7月13日 12:00" in offered.text
    with clock.frozen(NOW + timedelta(hours=72)):
        lapsed = await client.get(f"/s/gifts/{share.token}")
    assert lapsed.status_code == 410 and "链接已过期" in lapsed.text
