"""Input at the edge of what a column holds answers 4xx or an empty page, never a 500; times go out at +08:00.

From the hardening probe: ``?after=2147483648`` on the lists whose tables have 4-byte keys, and far-off
times (year 1, year 9999 with an offset), each answered 500; a time before 1901 went out as +08:05:43.
"""

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from hub.schemas import OutTime
from tests.factories import make_campaign, make_code, make_key, make_product, make_region, make_staff, make_store

FOUR_BYTE_KEY_LISTS = ["/api/v1/regions", "/api/v1/stores", "/api/v1/staff", "/api/v1/products", "/api/v1/campaigns",
                       "/api/v1/codes", "/api/v1/coupons/batches"]


@pytest.mark.parametrize("path", FOUR_BYTE_KEY_LISTS)
async def test_after_past_a_four_byte_key_is_an_empty_page(client, path):
    await make_region(), await make_store(), await make_staff(), await make_product(), await make_campaign()
    await make_code()
    headers = await make_key()
    assert (await client.get(path, headers=headers)).status_code == 200
    for after in (2**31 - 1, 2**31, 2**63 - 1):
        response = await client.get(f"{path}?after={after}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_after": None}


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00", "1969-12-31T23:59:59Z"])
async def test_a_far_off_time_is_a_422_naming_the_field(client, since):
    response = await client.get("/api/v1/wecom/contacts", params={"added_since": since}, headers=await make_key())
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "query.added_since"
    assert "between 1970-01-01 and 9998-12-31" in problem["errors"][0]["message"]


async def test_a_campaign_starting_in_year_one_is_refused_not_a_500(client):
    body = {"code": "Y1", "name": "year one", "starts_at": "0001-01-01T00:00:00", "ends_at": "2030-01-01T00:00:00",
            "channels": ["wecom"]}
    response = await client.post("/api/v1/campaigns", json=body, headers=await make_key())
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["starts_at"]


class Shown(BaseModel):
    at: OutTime


@pytest.mark.parametrize(("stored", "shown"), [
    (datetime(1900, 1, 1, tzinfo=UTC), "1900-01-01T08:00:00+08:00"),  # was +08:05:43, local mean time
    (datetime(1988, 6, 1, tzinfo=UTC), "1988-06-01T08:00:00+08:00"),  # was +09:00, summer time of 1986-91
    (datetime(2026, 12, 7, 16, 30, 5, 120000, tzinfo=UTC), "2026-12-08T00:30:05.120000+08:00"),
])
def test_times_go_out_with_a_whole_minute_plus_eight_offset(stored, shown):
    assert Shown(at=stored).model_dump(mode="json") == {"at": shown}
