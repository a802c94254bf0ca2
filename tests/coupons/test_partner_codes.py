"""Equity coupons whose codes come from the partner's file: parsing, loading the pool, one code per coupon
(under concurrency too), the code shown only to a holder, the activation rule, the API and the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coupons.batches.service import BatchWrongStatus
from coupons.claims.service import OutOfStock
from coupons.codes import new_code
from coupons.models import BatchKind, BatchStatus, Coupon, CouponBatch, CouponState
from coupons.partner_codes import service as partner_codes
from coupons.partner_codes.models import PartnerCode
from coupons.partner_codes.service import NotAnEquityBatch, PartnerCodesLoadedMeanwhile, PartnerCodesRejected
from hub.auth.models import Role
from hub.database import transaction
from hub.errors import HubError
from tests.coupons.helpers import claim, claim_issued, issue, make_batch, make_customer
from tests.factories import make_key, make_staff

HUB = str(Path(sys.executable).with_name("hub"))
YEARS = 3650  # the wallet reads coupons as of today: keep the test coupons valid


def errors_of(exc: PartnerCodesRejected) -> list[tuple[int | None, str, str]]:
    return [(e.line, e.field, e.message) for e in exc.errors]


async def equity_batch(*, codes: int = 0, total_quantity: int = 100, status: BatchStatus = BatchStatus.ACTIVE,
                       **fields) -> CouponBatch:
    batch = await make_batch(kind=BatchKind.EQUITY, total_quantity=total_quantity, status=status,
                             valid_days=YEARS, **fields)
    if codes:
        async with transaction():
            await partner_codes.load(batch_id=batch.id, codes=[f"VIP-{i:04d}" for i in range(codes)], source="p.txt")
    return batch


def url(batch_id: int) -> str:
    return f"/api/v1/coupons/batches/{batch_id}/partner-codes"


class TestParse:
    def test_one_code_a_line_stripped_with_blank_lines_at_the_end_ignored(self):
        assert partner_codes.parse(b"  AAA-1 \nBBB-2\r\nCCC-3\n\n\n", source="f.txt") == ["AAA-1", "BBB-2", "CCC-3"]

    def test_a_csv_with_a_code_header_takes_its_first_column(self):
        data = b'Code,expires,note\nAAA-1,2026-12-31,x\n"BBB,2",2026-12-31,quoted\n'
        assert partner_codes.parse(data, source="f.csv") == ["AAA-1", "BBB,2"]

    def test_utf8_with_bom_and_gb18030_read_alike(self):
        text = "code\n会员AAA1\n会员BBB2\n"
        assert partner_codes.parse(b"\xef\xbb\xbf" + text.encode(), source="a") == ["会员AAA1", "会员BBB2"]
        assert partner_codes.parse(text.encode("gb18030"), source="b") == ["会员AAA1", "会员BBB2"]

    def test_every_bad_line_is_reported_with_its_number(self):
        data = ("AAA-1\n"  # 1
                "\n"  # 2 empty, in the middle
                + "X" * 129 + "\n"  # 3 too long
                "BAD\x07CODE\n"  # 4 control character
                "AB CD\n"  # 5 a space inside
                "BBB-2\n"  # 6
                "AAA-1\n"  # 7 the same as line 1
                ",note only\n"  # 8 empty first column
                + "Y" * 128 + "\n"  # 9 the longest allowed
                ).encode()
        with pytest.raises(PartnerCodesRejected) as caught:
            partner_codes.parse(data, source="partner.txt")
        assert errors_of(caught.value) == [
            (2, "file", "empty code"),
            (3, "file", "too long: 129 characters, at most 128"),
            (4, "file", "a control or invisible character U+0007 (character 4)"),
            (5, "file", "a space inside the code (character 3)"),
            (7, "file", "AAA-1 is also on line 1"),
            (8, "file", "empty code"),
        ]
        assert caught.value.detail == "6 error(s) in partner.txt" and caught.value.status == 422

    def test_an_empty_file_and_a_binary_file_are_refused(self):
        with pytest.raises(PartnerCodesRejected) as empty:
            partner_codes.parse(b"code\n\n", source="e.txt")
        assert errors_of(empty.value) == [(1, "file", "the file holds no code")]
        with pytest.raises(PartnerCodesRejected) as binary:
            partner_codes.parse("AAA\n".encode("utf-16"), source="u.txt")
        assert errors_of(binary.value)[0][1:] == ("file", "not a text file (UTF-8 or GB18030)")


class TestLoad:
    async def test_a_re_upload_adds_nothing_and_a_mixed_file_adds_only_the_new_codes(self):
        batch = await equity_batch()
        async with transaction():
            first = await partner_codes.load(batch_id=batch.id, codes=["A1", "A2", "A3"], source="first.txt")
        assert (first.added, first.already_loaded, first.total, first.assigned, first.free) == (3, 0, 3, 0, 3)
        async with transaction():
            again = await partner_codes.load(batch_id=batch.id, codes=["A1", "A2", "A3"], source="first.txt")
        assert (again.added, again.already_loaded, again.total) == (0, 3, 3)
        async with transaction():
            mixed = await partner_codes.load(batch_id=batch.id, codes=["A3", "B1", "B2"], source="second.txt")
        assert (mixed.added, mixed.already_loaded, mixed.total, mixed.free) == (2, 1, 5, 5)
        rows = await PartnerCode.filter(batch_id=batch.id).order_by("id").values_list("code", "source", "coupon_id")
        assert rows == [("A1", "first.txt", None), ("A2", "first.txt", None), ("A3", "first.txt", None),
                        ("B1", "second.txt", None), ("B2", "second.txt", None)]

    async def test_the_same_code_may_serve_two_batches(self):
        one, two = await equity_batch(), await equity_batch()
        for batch in (one, two):
            async with transaction():
                assert (await partner_codes.load(batch_id=batch.id, codes=["SAME"], source="f")).added == 1

    async def test_only_an_equity_batch_that_has_not_ended_takes_codes(self):
        cash = await make_batch(kind=BatchKind.CASH)
        with pytest.raises(NotAnEquityBatch) as caught:
            await partner_codes.load(batch_id=cash.id, codes=["A1"], source="f")
        assert caught.value.errors[0].field == "batch_id"
        ended = await equity_batch(status=BatchStatus.ENDED)
        with pytest.raises(BatchWrongStatus):
            await partner_codes.load(batch_id=ended.id, codes=["A1"], source="f")
        assert await PartnerCode.all().count() == 0

    async def test_two_uploads_racing_load_one_file_whole_and_nothing_of_a_refused_one(self):
        batch = await equity_batch()
        first = [f"A{i:05d}" for i in range(1500)]  # more than one INSERT chunk each, overlapping
        second = [f"A{i:05d}" for i in range(1000, 2500)]

        async def load(codes):
            async with transaction():
                return await partner_codes.load(batch_id=batch.id, codes=codes, source="f")

        results = await asyncio.gather(load(first), load(second), return_exceptions=True)
        stored = set(await PartnerCode.filter(batch_id=batch.id).values_list("code", flat=True))
        refused = [r for r in results if isinstance(r, Exception)]
        if refused:  # PostgreSQL: the later upload hits the earlier one's uncommitted rows and rolls back whole
            assert [type(r) for r in refused] == [PartnerCodesLoadedMeanwhile]
            assert stored in (set(first), set(second))
        else:  # SQLite: one transaction after the other, the later counts the overlap as already loaded
            assert stored == set(first) | set(second)
            assert sorted(r.added for r in results) == [1000, 1500]


class TestAssign:
    async def test_a_claim_and_an_issue_each_take_a_distinct_code_of_the_pool(self):
        batch = await equity_batch(codes=3)
        claimed = (await claim(batch, await make_customer())).coupon
        issued = (await issue(batch, await make_customer())).coupon
        assert claimed.partner_code.startswith("VIP-") and issued.partner_code.startswith("VIP-")
        assert claimed.partner_code != issued.partner_code
        owners = dict(await PartnerCode.filter(coupon_id__isnull=False).values_list("code", "coupon_id"))
        assert owners == {claimed.partner_code: claimed.id, issued.partner_code: issued.id}
        assert (await partner_codes.pool_summary(batch.id)).model_dump() == {
            "batch_id": batch.id, "total": 3, "assigned": 2, "free": 1}

    async def test_other_kinds_take_no_partner_code(self):
        coupon = (await claim(await make_batch(), await make_customer())).coupon
        assert coupon.partner_code is None

    async def test_an_empty_pool_refuses_the_claim_and_gives_its_stock_back(self):
        batch = await equity_batch(codes=1, total_quantity=5)
        await claim(batch, await make_customer())
        with pytest.raises(OutOfStock):
            await claim(batch, await make_customer())
        with pytest.raises(OutOfStock):
            await issue(batch, await make_customer())
        assert await Coupon.filter(batch_id=batch.id).count() == 1
        assert (await CouponBatch.get(id=batch.id)).issued_count == 1

    async def test_60_concurrent_claims_on_a_stock_and_pool_of_50_give_50_coupons_each_its_own_code(self):
        batch = await equity_batch(codes=50, total_quantity=50)
        customers = [await make_customer() for _ in range(60)]
        results = await asyncio.gather(*(claim(batch, c) for c in customers), return_exceptions=True)
        assert [r for r in results if isinstance(r, Exception) and not isinstance(r, HubError)] == []
        assert {type(r) for r in results if isinstance(r, Exception)} == {OutOfStock}
        coupons = await Coupon.filter(batch_id=batch.id).values_list("id", "partner_code")
        assert len(coupons) == 50 and len({code for _, code in coupons}) == 50
        assert all(code is not None for _, code in coupons)
        pool = dict(await PartnerCode.filter(batch_id=batch.id).values_list("code", "coupon_id"))
        assert pool == {code: coupon_id for coupon_id, code in coupons}  # every code given once, to its coupon

    async def test_assign_racing_on_its_own_never_gives_a_code_twice(self):
        # Below claims the batch row already queues claimers; here the conditional UPDATE alone must hold.
        batch = await equity_batch(codes=20, total_quantity=30)
        now = datetime.now(UTC)
        coupons = [await Coupon.create(code=new_code(), batch_id=batch.id, state=CouponState.CLAIMED,
                                       valid_from=now, valid_until=now) for _ in range(30)]

        async def assign(coupon):
            async with transaction():
                return await partner_codes.assign(coupon=coupon)

        results = await asyncio.gather(*(assign(c) for c in coupons), return_exceptions=True)
        given = [r for r in results if isinstance(r, str)]
        assert len(given) == 20 and len(set(given)) == 20
        assert {type(r) for r in results if not isinstance(r, str)} == {OutOfStock}
        assert await PartnerCode.filter(batch_id=batch.id, coupon_id__isnull=True).count() == 0
        stored = await Coupon.filter(partner_code__isnull=False).values_list("partner_code", flat=True)
        assert sorted(stored) == sorted(given)


class TestShown:
    async def test_an_issued_coupon_hides_its_code_in_the_wallet_until_claimed(self, client):
        batch = await equity_batch(codes=2)
        customer = await make_customer()
        coupon = (await issue(batch, customer)).coupon
        ops = await make_key()
        wallet = (await client.get(f"/api/v1/coupons/wallets/{customer.id}", headers=ops)).json()
        [entry] = wallet["coupons"]["issued"]
        assert entry["code"] == coupon.code and entry["partner_code"] is None
        assert coupon.partner_code is not None  # assigned at the issue, shown only to a holder

        now = datetime.now(UTC)
        await claim_issued(coupon.code, customer, now=now)
        wallet = (await client.get(f"/api/v1/coupons/wallets/{customer.id}", headers=ops)).json()
        [entry] = wallet["coupons"]["claimed"]
        assert entry["partner_code"] == coupon.partner_code

    async def test_the_claim_answer_shows_the_code(self, client):
        batch = await equity_batch(codes=1)
        answer = await client.post(f"/api/v1/coupons/batches/{batch.id}/claims", headers=await make_key(),
                                   json={"customer_id": (await make_customer()).id, "channel": "app"})
        assert answer.status_code == 201, answer.text
        assert answer.json()["coupon"]["partner_code"] == "VIP-0000"

    async def test_an_empty_pool_answers_409_out_of_stock(self, client):
        batch = await equity_batch(codes=0, total_quantity=5)
        answer = await client.post(f"/api/v1/coupons/batches/{batch.id}/claims", headers=await make_key(),
                                   json={"customer_id": (await make_customer()).id, "channel": "app"})
        assert answer.status_code == 409
        assert answer.json()["title"] == OutOfStock.title
        assert (await CouponBatch.get(id=batch.id)).issued_count == 0


class TestActivation:
    async def test_an_equity_batch_activates_only_once_its_pool_covers_its_stock(self, client):
        batch = await equity_batch(codes=4, total_quantity=10, status=BatchStatus.APPROVED)
        ops = await make_key()
        refused = await client.post(f"/api/v1/coupons/batches/{batch.id}/activate", headers=ops)
        assert refused.status_code == 409
        assert refused.json()["detail"] == (f"Coupon batch {batch.id} may still hand out 10 coupons but its pool "
                                            "holds 4 free partner codes: 6 missing")
        assert (await CouponBatch.get(id=batch.id)).status == BatchStatus.APPROVED
        async with transaction():
            await partner_codes.load(batch_id=batch.id, codes=[f"MORE-{i}" for i in range(6)], source="more.txt")
        active = await client.post(f"/api/v1/coupons/batches/{batch.id}/activate", headers=ops)
        assert active.status_code == 200 and active.json()["status"] == "active"

    async def test_its_stock_grows_and_it_resumes_only_as_far_as_its_pool_covers(self, client):
        batch = await equity_batch(codes=10, total_quantity=10, status=BatchStatus.ACTIVE)
        ops, url = await make_key(), f"/api/v1/coupons/batches/{batch.id}"
        grown = await client.post(f"{url}/quantity", headers=ops, json={"expected": 10, "total_quantity": 12})
        assert grown.status_code == 409 and "2 missing" in grown.json()["detail"]
        assert (await CouponBatch.get(id=batch.id)).total_quantity == 10  # the refused change rolled back
        assert (await client.post(f"{url}/pause", headers=ops)).status_code == 200
        await PartnerCode.filter(batch_id=batch.id).limit(1).delete()  # ops withdrew a code meanwhile
        assert (await client.post(f"{url}/resume", headers=ops)).status_code == 409
        assert (await CouponBatch.get(id=batch.id)).status == BatchStatus.PAUSED

    async def test_other_kinds_activate_without_codes(self, client):
        batch = await make_batch(status=BatchStatus.APPROVED)
        active = await client.post(f"/api/v1/coupons/batches/{batch.id}/activate", headers=await make_key())
        assert active.json()["status"] == "active"


class TestApi:
    async def test_upload_answers_the_summary_and_a_re_upload_adds_nothing(self, client):
        batch = await equity_batch()
        ops = await make_key()
        files = {"file": ("爱奇艺-0701.csv", "code\nA1\nA2\nA3\n".encode("gb18030"), "text/csv")}
        created = await client.post(url(batch.id), headers=ops, files=files)
        assert created.status_code == 201, created.text
        assert created.json() == {"batch_id": batch.id, "total": 3, "assigned": 0, "free": 3,
                                  "source": "爱奇艺-0701.csv", "added": 3, "already_loaded": 0}
        again = await client.post(url(batch.id), headers=ops, files=files)
        assert again.status_code == 201
        assert (again.json()["added"], again.json()["already_loaded"], again.json()["total"]) == (0, 3, 3)
        await claim(batch, await make_customer())
        status = await client.get(url(batch.id), headers=ops)
        assert status.json() == {"batch_id": batch.id, "total": 3, "assigned": 1, "free": 2}

    async def test_the_same_idempotency_key_returns_the_first_answer(self, client):
        batch = await equity_batch()
        headers = {**await make_key(), "Idempotency-Key": "codes-0701"}
        first = await client.post(url(batch.id), headers=headers, files={"file": ("a.txt", b"A1\nA2\n")})
        await claim(batch, await make_customer())
        second = await client.post(url(batch.id), headers=headers, files={"file": ("a.txt", b"A1\nA2\n")})
        assert second.status_code == 201 and second.json() == first.json()
        other = await client.post(url(batch.id), headers=headers, files={"file": ("a.txt", b"A3\n")})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_a_bad_file_answers_422_listing_every_bad_line_and_loads_nothing(self, client):
        batch = await equity_batch()
        data = b"A1\n\nA1\nB\x1bad\n" + b"C" * 200 + b"\n"
        answer = await client.post(url(batch.id), headers=await make_key(), files={"file": ("bad.txt", data)})
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["title"] == PartnerCodesRejected.title and body["detail"] == "4 error(s) in bad.txt"
        assert body["errors"] == [
            {"field": "file", "line": 2, "message": "empty code"},
            {"field": "file", "line": 3, "message": "A1 is also on line 1"},
            {"field": "file", "line": 4, "message": "a control or invisible character U+001B (character 2)"},
            {"field": "file", "line": 5, "message": "too long: 200 characters, at most 128"},
        ]
        assert await PartnerCode.all().count() == 0

    async def test_a_batch_of_another_kind_or_unknown_is_refused_naming_it(self, client):
        ops = await make_key()
        cash = await make_batch()
        answer = await client.post(url(cash.id), headers=ops, files={"file": ("a.txt", b"A1\n")})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "batch_id"
        assert (await client.post(url(999), headers=ops, files={"file": ("a.txt", b"A1\n")})).status_code == 404
        assert (await client.get(url(999), headers=ops)).status_code == 404
        missing_file = await client.post(url(cash.id), headers=ops)
        assert missing_file.status_code == 422 and missing_file.json()["errors"][0]["field"] == "file"

    async def test_only_ops_and_admin_may_load_or_look(self, client):
        batch = await equity_batch()
        staff = await make_key(role=Role.STAFF, staff=await make_staff())
        assert (await client.post(url(batch.id), headers=staff, files={"file": ("a.txt", b"A1\n")})).status_code == 403
        assert (await client.get(url(batch.id), headers=staff)).status_code == 403
        assert await PartnerCode.all().count() == 0


def hub(*args: str) -> subprocess.CompletedProcess:
    # In a subprocess: the command opens and closes the database itself, which must not touch this process's.
    return subprocess.run([HUB, "coupons", "partner-codes", *args], env={**os.environ, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=120)


class TestCli:
    async def test_load_prints_the_summary_and_status_the_pool(self, tmp_path):
        batch = await equity_batch()
        path = tmp_path / "partner.txt"
        path.write_bytes(b"\xef\xbb\xbfA1\nA2\nA3\n")
        loaded = hub("load", str(batch.id), str(path))
        assert loaded.returncode == 0, loaded.stderr
        assert "3 codes added, 0 already loaded, from partner.txt" in loaded.stdout
        assert f"Pool of batch {batch.id}: 3 codes, 0 assigned, 3 free" in loaded.stdout
        assert sorted(await PartnerCode.filter(batch_id=batch.id).values_list("code", flat=True)) == ["A1", "A2", "A3"]
        again = hub("load", str(batch.id), str(path))
        assert "0 codes added, 3 already loaded" in again.stdout
        await claim(batch, await make_customer())
        status = hub("status", str(batch.id))
        assert status.returncode == 0 and f"Pool of batch {batch.id}: 3 codes, 1 assigned, 2 free" in status.stdout

    async def test_a_bad_file_lists_every_bad_line_and_loads_nothing(self, tmp_path):
        batch = await equity_batch()
        path = tmp_path / "bad.txt"
        path.write_text("A1\nA B\nA1\n", encoding="utf-8")
        result = hub("load", str(batch.id), str(path))
        assert result.returncode == 1
        assert "2 error(s) in bad.txt. Nothing was loaded." in result.stderr
        assert "a space inside the code" in result.stdout and "A1 is also on line 1" in result.stdout
        assert await PartnerCode.all().count() == 0

    async def test_a_batch_of_another_kind_is_refused(self, tmp_path):
        cash = await make_batch()
        path = tmp_path / "a.txt"
        path.write_text("A1\n")
        result = hub("load", str(cash.id), str(path))
        assert result.returncode == 2 and "only an equity batch takes partner codes" in result.stderr
