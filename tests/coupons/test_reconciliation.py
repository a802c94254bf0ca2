"""Reconciling a settlement file against redemptions made through the coupon services: every class of
difference, the hub side bounded by the period, and the same run twice giving the same answer."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from coupons.gifting import service as gifting
from coupons.models import Coupon, CouponLedger
from coupons.reconciliation import service
from coupons.reconciliation.models import LineClass, ReconciliationLine, ReconciliationRun
from coupons.reconciliation.parse import SettlementRejected
from coupons.redemptions import service as redemptions
from coupons.redemptions.queries import daily_totals
from hub.database import transaction
from tests.coupons.helpers import DAY, NOW, OPS, claim, make_batch, make_customer, request_id
from tests.factories import make_store

HOUR = timedelta(hours=1)
D1, D2 = date(2026, 7, 10), date(2026, 7, 11)  # NOW is noon of D1 in Shanghai
HEADER = "date,store_code,coupon_code,amount_fen,partner_ref,kind\n"
UNKNOWN_CODE = "0000000000000000"


def settlement(*rows: tuple) -> bytes:
    return (HEADER + "".join(",".join(str(cell) for cell in row) + "\n" for row in rows)).encode()


async def _written_at(transition, at) -> None:
    # The ledger stamps rows with the clock of the write; the scenario places them on chosen days.
    await CouponLedger.filter(id=transition.entry.id).update(created_at=at)


async def redeemed(store, *, at=NOW) -> str:
    """A coupon claimed and redeemed at ``store`` at ``at``, for a 500 fen discount; its code."""
    coupon = (await claim(await make_batch(face_value_fen=500), await make_customer(), now=at - HOUR)).coupon
    async with transaction():
        done = await redemptions.redeem(code=coupon.code, store_id=store.id, channel="store", spend_fen=10_000,
                                        request_id=request_id(), actor=OPS, now=at)
    await _written_at(done, at)
    return coupon.code


async def returned(code: str, *, at) -> None:
    async with transaction():
        done = await redemptions.return_coupon(code=code, request_id=request_id(), actor=OPS, now=at)
    await _written_at(done, at)


async def cancelled(code: str, store, *, at) -> None:
    async with transaction():
        done = await redemptions.cancel_redemption(code=code, store_id=store.id, request_id=request_id(), actor=OPS,
                                                   now=at)
    await _written_at(done, at)


async def every_kind_of_difference() -> tuple[bytes, list[tuple]]:
    """Hub redemptions and a settlement file with one case of each class; (the file, the expected lines as
    (class, kind, code, store, day, file fen, hub fen))."""
    a, b = await make_store(), await make_store()
    match, missing, amount, moved, dup = [await redeemed(s) for s in (a, a, a, a, b)]
    undone_in_hub, reversed_in_file, both_reversed = await redeemed(a), await redeemed(a), await redeemed(b)
    await returned(undone_in_hub, at=NOW + DAY)
    await returned(both_reversed, at=NOW + DAY)
    cancel = await redeemed(a)
    await cancelled(cancel, a, at=NOW + HOUR)  # same day: never settled, so absent from the file is right
    earlier = await redeemed(a, at=NOW - 2 * DAY)
    await returned(earlier, at=NOW)  # the redemption is before the period, its return inside
    undone_late = await redeemed(b)
    await returned(undone_late, at=NOW + 3 * DAY)  # after the period: not part of it
    await redeemed(a, at=NOW + 2 * DAY)  # after the period: not part of it
    file = settlement(
        (D1, a.code, match, 500, "P1", "redemption"),
        (D1, a.code, UNKNOWN_CODE, 500, "P2", "redemption"),
        (D1, a.code, amount, 450, "P3", "redemption"),
        (D1, b.code, moved, 500, "P4", "redemption"),
        (D1, b.code, dup, 500, "P5", "redemption"),
        (D1, b.code, dup, 500, "P5", "redemption"),
        (D1, a.code, undone_in_hub, 500, "P6", "redemption"),
        (D1, a.code, reversed_in_file, 500, "P7", "redemption"),
        (D2, a.code, reversed_in_file, 500, "P7R", "reversal"),
        (D1, b.code, both_reversed, 500, "P8", "redemption"),
        (D2, b.code, both_reversed, 500, "P8R", "reversal"),
        (D1, a.code, earlier, 500, "P9R", "reversal"),
        (D1, b.code, undone_late, 500, "P10", "redemption"),
    )
    expected = [
        ("matched", "redemption", match, a.code, D1, 500, 500),
        ("missing_in_hub", "redemption", UNKNOWN_CODE, a.code, D1, 500, None),
        ("missing_at_partner", "redemption", missing, a.code, D1, None, 500),
        ("amount_differs", "redemption", amount, a.code, D1, 450, 500),
        ("store_or_day_differs", "redemption", moved, b.code, D1, 500, 500),
        ("matched", "redemption", dup, b.code, D1, 500, 500),
        ("duplicated_in_file", "redemption", dup, b.code, D1, 500, None),
        ("matched", "redemption", undone_in_hub, a.code, D1, 500, 500),
        ("reversed_one_side_only", "reversal", undone_in_hub, a.code, D2, None, 500),
        ("matched", "redemption", reversed_in_file, a.code, D1, 500, 500),
        ("reversed_one_side_only", "reversal", reversed_in_file, a.code, D2, 500, None),
        ("matched", "redemption", both_reversed, b.code, D1, 500, 500),
        ("matched", "reversal", both_reversed, b.code, D2, 500, 500),
        ("matched", "reversal", earlier, a.code, D1, 500, 500),
        ("matched", "redemption", undone_late, b.code, D1, 500, 500),
    ]
    return file, expected


async def reconcile(data: bytes, **kwargs) -> ReconciliationRun:
    async with transaction():
        return await service.run_reconciliation(data=data, file_name="partner.csv", source="电信权益",
                                                period_from=D1, period_to=D2, **kwargs)


async def stored_lines(run: ReconciliationRun, comparison: str = "partner_hub") -> list[tuple]:
    lines = await ReconciliationLine.filter(run_id=run.id, comparison=comparison).order_by("id")
    return [(x.line_class.value, x.kind.value, x.coupon_code, x.store_code, x.day, x.amount_file_fen,
             x.amount_hub_fen) for x in lines]


class TestClassification:
    async def test_a_file_with_every_kind_of_difference_is_classified(self):
        data, expected = await every_kind_of_difference()
        run = await reconcile(data)
        assert sorted(await stored_lines(run), key=str) == sorted(expected, key=str)
        assert run.counts["partner_hub"] == {"matched": 8, "missing_in_pos": 0, "missing_in_hub": 1,
                                             "missing_at_partner": 1, "amount_differs": 1,
                                             "store_or_day_differs": 1, "duplicated_in_file": 1,
                                             "reversed_one_side_only": 2}
        assert list(run.counts) == ["partner_hub"]  # no POS journal, no POS comparisons
        assert (run.source, run.period_from, run.period_to, run.file_name) == ("电信权益", D1, D2, "partner.csv")
        assert len(run.file_sha256) == 64

    async def test_the_same_file_for_the_same_period_gives_the_same_run_again(self):
        data, _ = await every_kind_of_difference()
        first, second = await reconcile(data), await reconcile(data)
        assert first.id != second.id
        assert await stored_lines(first) == await stored_lines(second)  # same lines in the same order
        assert first.counts == second.counts and first.file_sha256 == second.file_sha256
        assert await service.differences_csv(first.id) == await service.differences_csv(second.id)

    async def test_summary_counts_and_sums_each_class_per_store_and_day(self):
        a = await make_store()
        kept, short = await redeemed(a), await redeemed(a)
        run = await reconcile(settlement((D1, a.code, kept, 500, "P1", "redemption"),
                                         (D1, a.code, short, 300, "P2", "redemption"),
                                         (D2, a.code, UNKNOWN_CODE, 700, "P3", "redemption")))
        assert await service.summary(run.id) == [
            {"store_code": a.code, "day": D1, "comparison": "partner_hub", "classes": {
                "amount_differs": {"count": 1, "file_fen": 300, "hub_fen": 500},
                "matched": {"count": 1, "file_fen": 500, "hub_fen": 500}}},
            {"store_code": a.code, "day": D2, "comparison": "partner_hub", "classes": {
                "missing_in_hub": {"count": 1, "file_fen": 700, "hub_fen": 0}}},
        ]

    async def test_a_coupon_redeemed_again_after_a_cancel_pairs_each_redemption(self):
        a = await make_store()
        code = await redeemed(a)
        await cancelled(code, a, at=NOW + HOUR)
        async with transaction():
            again = await redemptions.redeem(code=code, store_id=a.id, channel="store", spend_fen=10_000,
                                             request_id=request_id(), actor=OPS, now=NOW + 2 * HOUR)
        await _written_at(again, NOW + 2 * HOUR)
        run = await reconcile(settlement((D1, a.code, code, 500, "P1", "redemption")))
        assert await stored_lines(run) == [("matched", "redemption", code, a.code, D1, 500, 500)]
        assert run.counts["partner_hub"][LineClass.MATCHED] == 1 and sum(run.counts["partner_hub"].values()) == 1


class TestThreeWay:
    async def test_a_pos_journal_is_compared_with_the_hub_and_with_the_partner(self):
        a = await make_store()
        agreed, pos_missed, partner_missed, pos_amount = [await redeemed(a) for _ in range(4)]
        partner = settlement((D1, a.code, agreed, 500, "P1", "redemption"),
                             (D1, a.code, pos_missed, 500, "P2", "redemption"),
                             (D1, a.code, pos_amount, 500, "P4", "redemption"),
                             (D1, a.code, UNKNOWN_CODE, 800, "P5", "redemption"))
        pos = settlement((D1, a.code, agreed, 500, "T1", "redemption"),
                         (D1, a.code, partner_missed, 500, "T3", "redemption"),
                         (D1, a.code, pos_amount, 400, "T4", "redemption"),
                         (D1, a.code, pos_amount, 400, "T4", "redemption"))
        run = await reconcile(partner, pos_journal=pos, pos_file_name="pos.csv")
        assert (run.pos_file_name, len(run.pos_file_sha256)) == ("pos.csv", 64)
        assert sorted(await stored_lines(run, "pos_hub"), key=str) == sorted([
            ("matched", "redemption", agreed, a.code, D1, 500, 500),
            ("missing_in_pos", "redemption", pos_missed, a.code, D1, None, 500),
            ("matched", "redemption", partner_missed, a.code, D1, 500, 500),
            ("amount_differs", "redemption", pos_amount, a.code, D1, 400, 500),
            ("duplicated_in_file", "redemption", pos_amount, a.code, D1, 400, None),
        ], key=str)
        assert sorted(await stored_lines(run, "pos_partner"), key=str) == sorted([
            ("matched", "redemption", agreed, a.code, D1, 500, 500),
            ("missing_in_pos", "redemption", pos_missed, a.code, D1, None, 500),
            ("missing_at_partner", "redemption", partner_missed, a.code, D1, 500, None),
            ("amount_differs", "redemption", pos_amount, a.code, D1, 400, 500),
            ("missing_in_pos", "redemption", UNKNOWN_CODE, a.code, D1, None, 800),
        ], key=str)
        assert run.counts["partner_hub"]["missing_at_partner"] == 1 and run.counts["partner_hub"]["missing_in_hub"] == 1
        assert run.counts["pos_partner"]["missing_in_pos"] == 2 and run.counts["pos_hub"]["duplicated_in_file"] == 1

    async def test_bad_lines_of_both_files_are_reported_together_and_nothing_is_stored(self):
        with pytest.raises(SettlementRejected) as caught:
            await reconcile(settlement((D1, "S1", "C1", "x", "P1", "redemption")),
                            pos_journal=settlement((D1, "S1", "C1", 5, "T1", "refund")), pos_file_name="pos.csv")
        assert [(e.line, e.field) for e in caught.value.errors] == [(2, "amount_fen"), (2, "pos_journal.kind")]
        assert caught.value.detail == "2 error(s) in the file"
        assert await ReconciliationRun.all().count() == 0


class TestTheTwoUndoPathsSettleDifferently:
    """A same-day cancel voids the redemption before settlement; a return after a refund leaves it settled
    and claws it back on the day of the return."""

    async def test_a_cancelled_redemption_is_expected_nowhere_in_the_file(self):
        a = await make_store()
        code = await redeemed(a)
        await cancelled(code, a, at=NOW + HOUR)
        run = await reconcile(settlement())
        assert await stored_lines(run) == []
        billed = await reconcile(settlement((D1, a.code, code, 500, "P1", "redemption")))
        assert await stored_lines(billed) == [
            ("matched", "redemption", code, a.code, D1, 500, 500),
            ("reversed_one_side_only", "reversal", code, a.code, D1, None, 500)]

    async def test_a_returned_redemption_must_show_both_its_lines(self):
        a = await make_store()
        code = await redeemed(a)
        await returned(code, at=NOW + DAY)
        absent = await reconcile(settlement())
        assert await stored_lines(absent) == [
            ("missing_at_partner", "redemption", code, a.code, D1, None, 500),
            ("missing_at_partner", "reversal", code, a.code, D2, None, 500)]
        settled = await reconcile(settlement((D1, a.code, code, 500, "P1", "redemption"),
                                             (D2, a.code, code, 500, "P2", "reversal")))
        assert [line[0] for line in await stored_lines(settled)] == ["matched", "matched"]

    async def test_daily_totals_settle_the_cancel_on_no_day_and_the_return_on_its_own(self):
        a = await make_store()
        kept, voided = await redeemed(a), await redeemed(a)
        await cancelled(voided, a, at=NOW + HOUR)
        await returned(kept, at=NOW + DAY)
        d1, d2 = await daily_totals(store_id=a.id, day_from=D1, day_to=D2)
        assert (d1.redeemed_fen, d1.cancelled_fen, d1.settled_fen, d1.clawback_fen) == (1000, 500, 500, 0)
        assert (d2.settled_fen, d2.clawback_fen, d2.net_fen) == (0, 500, -500)


async def test_a_returned_coupon_given_away_later_settles_under_the_code_it_was_redeemed_with():
    a = await make_store()
    code = await redeemed(a)
    await returned(code, at=NOW + HOUR)
    coupon = await Coupon.get(code=code)
    async with transaction():
        shared = await gifting.share(code=code, customer_id=coupon.owner_id, request_id=request_id(), actor=OPS,
                                     now=NOW + 2 * HOUR)
    async with transaction():
        await gifting.accept(token=shared.share.token, customer_id=(await make_customer()).id,
                             request_id=request_id(), actor=OPS, now=NOW + 3 * HOUR)
    assert (await Coupon.get(id=coupon.id)).code != code
    run = await reconcile(settlement((D1, a.code, code, 500, "P1", "redemption"),
                                     (D1, a.code, code, 500, "P2", "reversal")))
    assert [(line[0], line[2]) for line in await stored_lines(run)] == [("matched", code), ("matched", code)]
