from coupons.claims import service as claims
from coupons.models import Coupon
from coupons.redemptions import service as redemptions
from hub.database import transaction
from hub.events.attribution import Attribution
from hub.events.models import Event, EventType
from hub.links.tokens import signer
from tests.coupons.helpers import NOW, OPS, claim, make_batch, make_customer, request_id
from tests.factories import make_campaign, make_code, make_staff, make_store


async def _token(staff, code) -> str:
    return signer().sign_attribution(Attribution(code_id=code.id, slug=code.slug, store_id=staff.store_id,
                                                 staff_id=staff.id, channel="poster", visitor_id="v-1"))


async def test_claim_redeem_and_reverse_carry_the_campaign_and_the_code_that_brought_the_customer():
    staff = await make_staff()
    code = await make_code(staff=staff, channel="poster")
    campaign = await make_campaign(status="running")
    batch = await make_batch(campaign_id=campaign.id)
    customer = await make_customer()
    async with transaction():
        claimed = await claims.claim(batch_id=batch.id, customer_id=customer.id, channel="app", request_id=request_id(),
                                     actor=OPS, token=await _token(staff, code), now=NOW)
    counter = await make_store()
    for operation in (redemptions.redeem, redemptions.cancel_redemption):
        details = {"channel": "store", "spend_fen": 2000} if operation is redemptions.redeem else {}
        async with transaction():
            await operation(code=claimed.coupon.code, store_id=counter.id, request_id=request_id(), actor=OPS, now=NOW,
                            **details)
    events = await Event.all().order_by("id")
    assert [e.type for e in events] == [EventType.CLAIM, EventType.REDEEM, EventType.REVERSE]
    assert {(e.customer_id, e.code_id, e.staff_id, e.campaign_id, e.channel) for e in events} == {
        (customer.id, code.id, staff.id, campaign.id, "poster")}
    assert [e.props["amount_fen"] for e in events] == [None, 500, 500]
    assert events[1].props["store_id"] == counter.id and events[0].occurred_at == NOW


async def test_a_claim_without_a_touch_still_carries_the_campaign_and_a_replay_adds_no_event():
    campaign = await make_campaign(status="running")
    batch = await make_batch(campaign_id=campaign.id)
    customer = await make_customer()
    await claim(batch, customer, request="app:1")
    await claim(batch, customer, request="app:1")
    event = await Event.get(type=EventType.CLAIM)
    assert (event.code_id, event.campaign_id, event.props["coupon_id"]) == (
        None, campaign.id, (await Coupon.get(owner_id=customer.id)).id)
