"""The whole path: the sandbox plays a customer scanning a staff code, its encrypted callback reaches
``/webhooks/wecom``, the receipt is stored and answered, and the urgent job attributes, greets and counts.
"""

from __future__ import annotations

import asyncio

import pytest

from hub.codes.models import CodeKind, TargetKind
from hub.events.models import Event, EventType
from hub.wecom.contact_ways.models import ContactAddCount
from hub.wecom.models import ContactStatus, ContactWay, StaffContact
from tests.envs import settings_env
from tests.factories import make_code, make_staff
from tests.workers import run_worker_until_idle
from webhooks.models import ReceiptStatus, WebhookReceipt

URL = "/webhooks/wecom"


@pytest.fixture(autouse=True)
def configured(wecom):
    """The hub's settings describe the sandbox's corp, so the webhook can verify its callbacks."""
    with settings_env(wecom.env()):
        yield


async def _scan(sandbox, staff, state: str, name: str = "李雷") -> dict:
    answer = await sandbox.simulate("add", staff=staff.wecom_userid, state=state, name=name, deliver=False)
    return answer


async def _deliver(client, callback: dict):
    return await client.post(URL, params=callback["params"], content=callback["xml"].encode(),
                             headers={"Content-Type": "text/xml"})


async def test_a_scan_becomes_an_attributed_greeted_contact(client, wecom, queue):
    staff = await make_staff(name="王芳")
    code = await make_code(kind=CodeKind.STAFF, staff=staff, store=staff.store, target_kind=TargetKind.WECOM_CONTACT,
                           target_url="https://wework.qpic.cn/wwpic/qr.png")
    way = await ContactWay.create(code=code, way_type=1, state=f"s{code.slug}", daily_cap=50)
    await wecom.load_users([{"userid": staff.wecom_userid, "name": staff.name}])
    answer = await _scan(wecom, staff, way.state)

    response = await _deliver(client, answer["callback"])
    assert (response.status_code, response.text) == (200, "success")
    await queue.drain()

    receipt = await WebhookReceipt.get()
    assert receipt.status == ReceiptStatus.DONE and receipt.outcome.startswith("add: customer")
    contact = await StaffContact.get(external_userid=answer["external_userid"])
    assert (contact.status, contact.code_id, contact.welcome) == (ContactStatus.ACTIVE, code.id, "sent")
    assert (await Event.get(type=EventType.WECOM_ADD)).code_id == code.id
    assert (await ContactAddCount.get(contact_way_id=way.id)).adds == 1
    [welcome] = await wecom.sent("welcome")
    assert welcome["welcome_code"] == answer["welcome_code"]
    assert welcome["text"]["content"].startswith("李雷您好")


async def test_one_event_delivered_four_times_at_once_is_applied_once(client, wecom, queue):
    staff = await make_staff()
    await wecom.load_users([{"userid": staff.wecom_userid, "name": staff.name}])
    answer = await _scan(wecom, staff, "")
    first = await _deliver(client, answer["callback"])
    again = await asyncio.gather(*(_deliver(client, answer["callback"]) for _ in range(3)))
    assert [r.status_code for r in (first, *again)] == [200] * 4
    await queue.drain()

    receipt = await WebhookReceipt.get()
    assert (receipt.deliveries, receipt.attempts, receipt.status) == (4, 1, ReceiptStatus.DONE)
    assert await StaffContact.all().count() == 1
    assert await Event.filter(type=EventType.WECOM_ADD).count() == 1
    assert len(await wecom.sent("welcome")) == 1


async def test_two_customers_adding_at_once_are_both_kept(client, wecom, queue):
    staff = await make_staff()
    await wecom.load_users([{"userid": staff.wecom_userid, "name": staff.name}])
    one, two = await _scan(wecom, staff, "", "甲"), await _scan(wecom, staff, "", "乙")
    await asyncio.gather(_deliver(client, one["callback"]), _deliver(client, two["callback"]))
    await queue.drain()
    assert await WebhookReceipt.all().count() == 2
    assert {c.external_userid for c in await StaffContact.all()} == {one["external_userid"], two["external_userid"]}
    assert len(await wecom.sent("welcome")) == 2


async def test_a_real_arq_worker_on_the_urgent_lane_processes_the_callback(client, wecom, arq_queue):
    """Production's path: the receipt's job waits on the urgent lane's queue; a default-lane worker
    leaves it alone, an urgent-lane worker greets the customer."""
    staff = await make_staff()
    await wecom.load_users([{"userid": staff.wecom_userid, "name": staff.name}])
    answer = await _scan(wecom, staff, "")
    assert (await _deliver(client, answer["callback"])).status_code == 200

    await run_worker_until_idle(arq_queue, lane="default")  # runs the periodic sweeps, not the receipt
    assert (await WebhookReceipt.get()).status == ReceiptStatus.PENDING
    urgent = await run_worker_until_idle(arq_queue, lane="urgent")
    assert urgent.jobs_complete == 1 and urgent.jobs_failed == 0
    receipt = await WebhookReceipt.get()
    assert receipt.status == ReceiptStatus.DONE and "welcome sent" in receipt.outcome
    assert len(await wecom.sent("welcome")) == 1
