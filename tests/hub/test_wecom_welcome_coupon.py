"""A contact-me code may offer a coupon: its welcome message then carries the new customer's own claim
link, and the claim link gives that customer one coupon of the batch."""

from __future__ import annotations

from connectors.wecom.crypto import parse_fields
from coupons.models import BatchStatus
from hub.customers.models import Identity, IdentityKind
from hub.links.coupon_links import verify_claim_token
from hub.wecom.callbacks import service as callbacks
from hub.wecom.callbacks.welcome import COUPON_LINK_TITLE
from hub.wecom.models import ContactWay
from tests.coupons.helpers import make_batch
from tests.factories import make_key, make_staff
from tests.hub.test_wecom_callbacks import _staff_code
from tests.hub.test_wecom_contactways_api import URL, fields_of, make_wecom_code


async def test_the_welcome_carries_the_new_customers_claim_link(wecom):
    staff = await make_staff()
    batch = await make_batch()
    code, way = await _staff_code(staff=staff)
    await ContactWay.filter(id=way.id).update(welcome_coupon_batch_id=batch.id)
    await wecom.load_users([{"userid": staff.wecom_userid, "name": staff.name}])
    answer = await wecom.simulate("add", deliver=False, staff=staff.wecom_userid, state=way.state, name="李雷")

    outcome = await callbacks.handle(parse_fields(answer["callback"]["plaintext"]), receipt_id=1)

    assert "welcome sent" in outcome
    customer_id = (await Identity.get(kind=IdentityKind.WECOM_EXTERNAL, value=answer["external_userid"])).customer_id
    [welcome] = await wecom.sent("welcome")
    shelf, coupon = welcome["attachments"]
    assert coupon["link"]["title"] == COUPON_LINK_TITLE
    link = verify_claim_token(coupon["link"]["url"].rsplit("/", 1)[1])
    assert (link.batch_id, link.customer_id, link.channel, link.code_id) == (batch.id, customer_id, "wecom", code.id)


async def test_a_welcome_without_a_coupon_has_no_claim_link(wecom):
    staff = await make_staff()
    _, way = await _staff_code(staff=staff)
    await wecom.load_users([{"userid": staff.wecom_userid, "name": staff.name}])
    answer = await wecom.simulate("add", deliver=False, staff=staff.wecom_userid, state=way.state, name="韩梅梅")
    await callbacks.handle(parse_fields(answer["callback"]["plaintext"]), receipt_id=2)
    [welcome] = await wecom.sent("welcome")
    assert [a["link"]["title"] for a in welcome["attachments"]] != [COUPON_LINK_TITLE]
    assert len(welcome["attachments"]) == 1


async def test_the_setting_names_a_batch_that_exists_and_has_not_ended(client, wecom, queue):
    staff = await make_staff()
    made = await make_wecom_code(client, kind="staff", staff_id=staff.id)
    ops = await make_key()
    ended = await make_batch(status=BatchStatus.ENDED)
    for batch_id, message in [(999_999, "no coupon batch"), (ended.id, "has ended")]:
        refused = await client.put(f"{URL}/{made['id']}/wecom", headers=ops, json={"welcome_coupon_batch_id": batch_id})
        assert refused.status_code == 422 and fields_of(refused) == ["welcome_coupon_batch_id"], refused.text
        assert message in refused.json()["errors"][0]["message"]
    batch = await make_batch()
    put = await client.put(f"{URL}/{made['id']}/wecom", headers=ops, json={"welcome_coupon_batch_id": batch.id})
    assert put.status_code == 200 and put.json()["welcome_coupon_batch_id"] == batch.id
    assert (await ContactWay.get(code_id=made["id"])).welcome_coupon_batch_id == batch.id
