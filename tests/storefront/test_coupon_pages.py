"""The customer's coupon pages: signed claim links, the coupon page as it is now, and both claims."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from coupons.codes import ALPHABET, new_code
from coupons.gifting.models import CouponShare
from coupons.models import BatchKind, BatchStatus, Coupon, CouponBatch, CouponLedger, CouponState, Operation
from coupons.partner_codes.models import PartnerCode
from coupons.redemptions import service as redemptions
from hub import clock
from hub.database import transaction
from hub.errors import InvalidInput
from hub.links.coupon_links import (
    LIFETIME_SECONDS,
    claim_link_url,
    coupon_page_url,
    sign_claim_token,
    verify_claim_token,
)
from tests.coupons.helpers import DAY, NOW, OPS, claim, issue, make_batch, make_customer, request_id
from tests.factories import make_code, make_store
from tests.storefront.test_barcode import decode

T0 = 1_780_000_000  # a fixed "now" for the token tests, Unix seconds


def _now() -> datetime:
    return datetime.now(UTC)


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _barcode_of(page: str) -> str:
    found = re.search(r'<svg[^>]*aria-label=.[0-9A-Z]{16}.[^>]*>.*?</svg>', page)
    assert found, "no barcode on the page"
    return html.unescape(found.group(0))


async def _equity_batch(**fields) -> CouponBatch:
    """An equity batch with a pool of partner codes, which its claims draw from."""
    batch = await make_batch(**{**fields, "kind": BatchKind.EQUITY})
    await PartnerCode.bulk_create([PartnerCode(batch_id=batch.id, code=f"P-{batch.id}-{n}") for n in range(5)])
    return batch


def _assert_private(response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


class TestClaimLinkToken:
    def test_round_trip_names_batch_customer_channel_code_and_times(self):
        url = claim_link_url(batch_id=7, customer_id=42, channel="wecom", code_id=9, now=T0)
        assert url.startswith("http://hub.test/s/coupons/claim/")
        token = _token(url)
        assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token) and len(token) < 120
        link = verify_claim_token(token, now=T0 + 60)
        assert (link.batch_id, link.customer_id, link.channel, link.code_id) == (7, 42, "wecom", 9)
        assert (link.issued_at, link.expires_at) == (T0, T0 + 14 * 86400)
        assert verify_claim_token(_token(claim_link_url(batch_id=7, customer_id=42, channel="app", now=T0)),
                                  now=T0).code_id is None

    def test_a_tampered_token_is_refused(self):
        token = sign_claim_token(batch_id=7, customer_id=42, channel="wecom", now=T0)
        body, tag = token.split(".")
        other = sign_claim_token(batch_id=7, customer_id=43, channel="wecom", now=T0)
        assert verify_claim_token(other.split(".")[0] + "." + tag, now=T0) is None  # another payload, this tag
        flipped = tag[:-2] + ("A" if tag[-2] != "A" else "B") + tag[-1]
        assert verify_claim_token(body + "." + flipped, now=T0) is None
        for junk in ("", ".", "abc", "a.b.c", "%%%.***", body, "x" * 600 + "." + tag, None):
            assert verify_claim_token(junk, now=T0) is None

    def test_a_token_expires_after_fourteen_days(self):
        token = sign_claim_token(batch_id=7, customer_id=42, channel="wecom", now=T0)
        assert verify_claim_token(token, now=T0 + LIFETIME_SECONDS - 1) is not None
        assert verify_claim_token(token, now=T0 + LIFETIME_SECONDS) is None

    def test_another_keys_token_is_refused(self):
        from tests.envs import settings_env

        with settings_env({"HUB_SECRET_KEY": "another-secret-key-that-is-long-enough-9876543210"}):
            foreign = sign_claim_token(batch_id=7, customer_id=42, channel="wecom", now=T0)
        assert verify_claim_token(foreign, now=T0) is None

    def test_bad_link_input_names_the_field(self):
        for fields, name in ((dict(channel="WeCom!"), "channel"), (dict(batch_id=0), "batch_id"),
                             (dict(customer_id=True), "customer_id"), (dict(code_id=-1), "code_id")):
            with pytest.raises(InvalidInput) as caught:
                claim_link_url(**{"batch_id": 1, "customer_id": 2, "channel": "app", **fields})
            assert caught.value.errors[0].field == name

    def test_the_coupon_page_url_is_the_code_under_the_public_base(self):
        assert coupon_page_url("ABCD") == "http://hub.test/s/coupons/ABCD"


class TestCouponPage:
    async def test_a_claimed_coupon_shows_value_state_and_scannable_codes(self, client):
        store = await make_store(name="人民路营业厅")
        batch = await make_batch(face_value_fen=500, store_ids=[store.id], usable_weekdays=[1, 3, 5],
                                 usable_hours=[["09:00", "21:00"]], channels=["store"])
        coupon = (await claim(batch, await make_customer(), now=_now())).coupon
        response = await client.get(f"/s/coupons/{coupon.code}")
        assert response.status_code == 200
        _assert_private(response)
        page = response.text
        assert "立减 ¥5" in page and "可使用" in page and "券" in page
        grouped = " ".join(coupon.code[i:i + 4] for i in range(0, 16, 4))
        assert grouped in page
        assert 'aria-label="优惠券二维码"' in page
        assert decode(_barcode_of(page)) == (coupon.code, "Code128")
        assert "人民路营业厅" in page and "营业厅" in page and "周一、周三、周五" in page and "09:00–21:00" in page
        assert "领取</button>" not in page

    async def test_a_typed_code_in_lower_case_with_dashes_finds_the_coupon(self, client):
        coupon = (await claim(await make_batch(), await make_customer(), now=_now())).coupon
        typed = "-".join(coupon.code[i:i + 4] for i in range(0, 16, 4)).lower()
        response = await client.get(f"/s/coupons/{typed}")
        assert response.status_code == 200 and coupon.code in response.text

    async def test_a_redeemed_coupon_shows_its_state_and_no_scannable_code(self, client):
        coupon = (await claim(await make_batch(), await make_customer(), now=_now())).coupon
        store = await make_store()
        async with transaction():
            await redemptions.redeem(code=coupon.code, store_id=store.id, channel="store", spend_fen=10_000,
                                     request_id=request_id(), actor=OPS)
        response = await client.get(f"/s/coupons/{coupon.code}")
        assert response.status_code == 200
        assert "已使用" in response.text and "使用时间" in response.text
        assert "<svg" not in response.text

    async def test_an_expired_and_a_voided_coupon_show_no_scannable_code(self, client):
        batch = await make_batch(valid_days=3, per_customer_limit=2)
        customer = await make_customer()
        lapsed = (await claim(batch, customer, now=_now() - 5 * DAY)).coupon
        response = await client.get(f"/s/coupons/{lapsed.code}")
        assert "已过期" in response.text and "<svg" not in response.text
        voided = (await claim(batch, customer, now=_now())).coupon
        await Coupon.filter(id=voided.id).update(state=CouponState.VOIDED)
        response = await client.get(f"/s/coupons/{voided.code}")
        assert "已作废" in response.text and "<svg" not in response.text

    async def test_a_coupon_being_gifted_shows_no_scannable_code(self, client):
        customer = await make_customer()
        coupon = (await claim(await make_batch(), customer, now=_now())).coupon
        await CouponShare.create(coupon_id=coupon.id, token="t" * 32, expires_at=_now() + DAY,
                                 from_customer_id=customer.id)
        page = (await client.get(f"/s/coupons/{coupon.code}")).text
        assert "转赠中" in page and "<svg" not in page

    async def test_each_kind_states_what_it_is_worth(self, client):
        kinds = [
            (dict(kind=BatchKind.THRESHOLD, face_value_fen=2000, min_spend_fen=10_000), "满¥100减¥20"),
            (dict(kind=BatchKind.DISCOUNT, face_value_fen=0, discount_percent=15, discount_cap_fen=5000),
             "8.5折 最高减¥50"),
            (dict(kind=BatchKind.DISCOUNT, face_value_fen=0, discount_percent=20), "8折"),
            (dict(kind=BatchKind.GIFT, face_value_fen=1990), "兑换 价值¥19.9"),
            (dict(kind=BatchKind.EQUITY, face_value_fen=2500), "权益 价值¥25"),
            (dict(kind=BatchKind.CASH, face_value_fen=305), "立减 ¥3.05"),
        ]
        for fields, text in kinds:
            batch = await (_equity_batch if fields["kind"] == BatchKind.EQUITY else make_batch)(**fields)
            coupon = (await claim(batch, await make_customer(), now=_now())).coupon
            assert text in (await client.get(f"/s/coupons/{coupon.code}")).text, text

    async def test_an_equity_coupon_shows_the_partner_code_once_there(self, client):
        coupon = (await claim(await _equity_batch(face_value_fen=2500), await make_customer(), now=_now())).coupon
        await Coupon.filter(id=coupon.id).update(partner_code=None)  # a coupon from before the pools
        assert "兑换码正在发放中" in (await client.get(f"/s/coupons/{coupon.code}")).text
        await Coupon.filter(id=coupon.id).update(partner_code="VIP-2026-<b>")
        page = (await client.get(f"/s/coupons/{coupon.code}")).text
        assert "VIP-2026-&lt;b&gt;" in page and "<b>" not in page

    async def test_unknown_mistyped_and_absurd_codes_get_a_friendly_404_page(self, client):
        code = (await claim(await make_batch(), await make_customer(), now=_now())).coupon.code
        typo = code[:3] + next(c for c in ALPHABET if c != code[3]) + code[4:]
        for wrong in (new_code(), typo, "nonsense", "x" * 5000, "%3Cscript%3E"):
            for method in ("GET", "POST"):
                path = f"/s/coupons/{wrong}" + ("/claim" if method == "POST" else "")
                response = await client.request(method, path)
                assert response.status_code == 404, (method, wrong)
                assert response.headers["content-type"].startswith("text/html")
                assert "优惠券不存在" in response.text
        assert (await client.get("/s/coupons/claim")).status_code == 404


class TestClaimingAnIssuedCoupon:
    async def test_the_page_offers_to_claim_and_a_double_post_claims_once(self, client):
        customer = await make_customer()
        coupon = (await issue(await make_batch(valid_days=7), customer, now=_now())).coupon
        page = (await client.get(f"/s/coupons/{coupon.code}")).text
        assert "待领取" in page and f'action="/s/coupons/{coupon.code}/claim"' in page and "<svg" not in page
        answers = [await client.post(f"/s/coupons/{coupon.code}/claim") for _ in range(2)]
        assert [(a.status_code, a.headers["location"]) for a in answers] == [(303, f"/s/coupons/{coupon.code}")] * 2
        stored = await Coupon.get(id=coupon.id)
        assert (stored.state, stored.owner_id) == (CouponState.CLAIMED, customer.id)
        claims = await CouponLedger.filter(coupon_id=coupon.id, operation=Operation.CLAIM)
        assert [(c.channel, c.actor_role) for c in claims] == [("storefront", "customer")]
        page = (await client.get(f"/s/coupons/{coupon.code}")).text
        assert "可使用" in page and decode(_barcode_of(page)) == (coupon.code, "Code128")

    async def test_claiming_a_coupon_that_is_not_issued_just_shows_it(self, client):
        coupon = (await claim(await make_batch(), await make_customer(), now=_now())).coupon
        response = await client.post(f"/s/coupons/{coupon.code}/claim")
        assert (response.status_code, response.headers["location"]) == (303, f"/s/coupons/{coupon.code}")
        assert await CouponLedger.filter(coupon_id=coupon.id).count() == 1


class TestClaimLink:
    async def test_the_link_shows_the_batch_and_two_posts_make_one_coupon(self, client):
        batch = await make_batch(face_value_fen=1000, valid_days=30, per_customer_limit=5)
        await CouponBatch.filter(id=batch.id).update(name="新人券")
        customer = await make_customer()
        token = _token(claim_link_url(batch_id=batch.id, customer_id=customer.id, channel="wecom"))
        page = await client.get(f"/s/coupons/claim/{token}")
        assert page.status_code == 200
        _assert_private(page)
        assert "新人券" in page.text and "立减 ¥10" in page.text and "领取后30天内有效" in page.text
        assert f'action="/s/coupons/claim/{token}"' in page.text
        answers = [await client.post(f"/s/coupons/claim/{token}") for _ in range(2)]
        coupons = await Coupon.filter(batch_id=batch.id)
        assert len(coupons) == 1 and coupons[0].owner_id == customer.id
        assert [(a.status_code, a.headers["location"]) for a in answers] == [(303, f"/s/coupons/{coupons[0].code}")] * 2
        assert (await CouponBatch.get(id=batch.id)).issued_count == 1
        entry = await CouponLedger.get(coupon_id=coupons[0].id)
        assert (entry.operation, entry.channel, entry.actor_role) == (Operation.CLAIM, "wecom", "customer")

    async def test_the_links_code_is_the_claims_attribution(self, client):
        code = await make_code()
        batch = await make_batch()
        sent = int(_now().timestamp()) - 3600
        token = _token(claim_link_url(batch_id=batch.id, customer_id=(await make_customer()).id, channel="wecom",
                                      code_id=code.id, now=sent))
        assert (await client.post(f"/s/coupons/claim/{token}")).status_code == 303
        coupon = await Coupon.get(batch_id=batch.id)
        assert (coupon.attribution["code_id"], coupon.attribution["slug"]) == (code.id, code.slug)
        assert coupon.attribution["staff_id"] == code.staff_id
        assert coupon.attribution["at"] == sent  # the touch is the link's sending, not the claim

    async def test_out_of_stock_is_a_409_page(self, client):
        batch = await make_batch(total_quantity=1)
        await claim(batch, await make_customer(), now=_now())
        token = _token(claim_link_url(batch_id=batch.id, customer_id=(await make_customer()).id, channel="app"))
        response = await client.post(f"/s/coupons/claim/{token}")
        assert response.status_code == 409 and response.headers["content-type"].startswith("text/html")
        assert "券已领完" in response.text and "The coupon batch is out of stock" in response.text
        assert await Coupon.filter(batch_id=batch.id).count() == 1

    async def test_the_limit_reached_page_links_to_the_coupon_already_held(self, client):
        batch = await make_batch(per_customer_limit=1)
        customer = await make_customer()
        held = (await claim(batch, customer, now=_now())).coupon
        token = _token(claim_link_url(batch_id=batch.id, customer_id=customer.id, channel="app"))
        assert f'href="/s/coupons/{held.code}"' in (await client.get(f"/s/coupons/claim/{token}")).text
        response = await client.post(f"/s/coupons/claim/{token}")
        assert response.status_code == 409
        assert "您已领取过" in response.text and f'href="/s/coupons/{held.code}"' in response.text

    async def test_a_paused_batch_is_not_offered_and_refused(self, client):
        batch = await make_batch(status=BatchStatus.PAUSED)
        token = _token(claim_link_url(batch_id=batch.id, customer_id=(await make_customer()).id, channel="app"))
        page = (await client.get(f"/s/coupons/claim/{token}")).text
        assert "活动暂未开放" in page and "disabled" in page
        response = await client.post(f"/s/coupons/claim/{token}")
        assert response.status_code == 409 and "活动暂未开放" in response.text
        assert await Coupon.filter(batch_id=batch.id).count() == 0

    async def test_expired_and_forged_links_are_refused_with_a_page(self, client):
        batch = await make_batch()
        customer = await make_customer()
        old = _token(claim_link_url(batch_id=batch.id, customer_id=customer.id, channel="app",
                                    now=int(_now().timestamp()) - LIFETIME_SECONDS - 1))
        body, tag = _token(claim_link_url(batch_id=batch.id, customer_id=customer.id, channel="app")).split(".")
        forged = body + "." + tag[::-1]
        for method in ("GET", "POST"):
            expired = await client.request(method, f"/s/coupons/claim/{old}")
            assert expired.status_code == 410 and "领取链接已过期" in expired.text
            for bad in (forged, "nonsense", "x" * 3000):
                response = await client.request(method, f"/s/coupons/claim/{bad}")
                assert response.status_code == 404 and "链接无效" in response.text
        assert await Coupon.filter(batch_id=batch.id).count() == 0

    async def test_a_link_for_an_unknown_batch_or_customer_is_a_page_not_a_500(self, client):
        batch = await make_batch()
        unknown_batch = _token(claim_link_url(batch_id=batch.id + 99, customer_id=(await make_customer()).id,
                                              channel="app"))
        assert (await client.get(f"/s/coupons/claim/{unknown_batch}")).status_code == 404
        assert (await client.post(f"/s/coupons/claim/{unknown_batch}")).status_code == 404
        unknown_customer = _token(claim_link_url(batch_id=batch.id, customer_id=10_000, channel="app"))
        assert (await client.get(f"/s/coupons/claim/{unknown_customer}")).status_code == 200
        response = await client.post(f"/s/coupons/claim/{unknown_customer}")
        assert response.status_code == 404 and "链接无效" in response.text


class TestPagesReadTheClock:
    """The pages and their claims read ``hub.clock``: under a frozen clock a coupon is shown, and claimed, as
    of that time, whatever the date of the machine."""

    async def test_a_coupon_is_shown_as_of_the_frozen_time(self, client):
        batch = await make_batch(valid_days=30, valid_start_days=2)
        coupon = (await claim(batch, await make_customer(), now=NOW)).coupon  # usable 12 Jul to 11 Aug, noon
        with clock.frozen(NOW + DAY):
            page = (await client.get(f"/s/coupons/{coupon.code}")).text
        assert "可使用" in page and "2026年7月12日 12:00 起可用" in page
        with clock.frozen(NOW + 3 * DAY):
            page = (await client.get(f"/s/coupons/{coupon.code}")).text
        assert "可使用" in page and "起可用" not in page
        with clock.frozen(NOW + 40 * DAY):
            page = (await client.get(f"/s/coupons/{coupon.code}")).text
        assert "已过期" in page and "这张券已于 2026年8月11日 12:00 过期" in page and "<svg" not in page

    async def test_a_claim_by_link_starts_the_validity_at_the_frozen_time(self, client):
        batch = await make_batch(valid_days=30)
        token = _token(claim_link_url(batch_id=batch.id, customer_id=(await make_customer()).id, channel="app",
                                      now=int(NOW.timestamp())))
        with clock.frozen(NOW + DAY):
            assert (await client.post(f"/s/coupons/claim/{token}")).status_code == 303
            coupon = await Coupon.get(batch_id=batch.id)
            page = (await client.get(f"/s/coupons/{coupon.code}")).text
        assert (coupon.claimed_at, coupon.valid_from) == (NOW + DAY, NOW + DAY)
        assert "2026年7月11日 12:00 至" in page and "2026年8月10日 12:00" in page
        with clock.frozen(NOW + timedelta(seconds=LIFETIME_SECONDS)):  # the link's own lifetime is over
            expired = await client.get(f"/s/coupons/claim/{token}")
        assert expired.status_code == 410 and "领取链接已过期" in expired.text

    async def test_an_issued_coupon_claimed_from_its_page_is_valid_from_the_frozen_time(self, client):
        coupon = (await issue(await make_batch(valid_days=7), await make_customer(), now=NOW)).coupon
        with clock.frozen(NOW + 2 * DAY):
            assert (await client.post(f"/s/coupons/{coupon.code}/claim")).status_code == 303
        stored = await Coupon.get(id=coupon.id)
        assert (stored.state, stored.valid_from, stored.valid_until) == (CouponState.CLAIMED, NOW + 2 * DAY,
                                                                       NOW + 9 * DAY)
