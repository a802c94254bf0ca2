"""A malformed settlement file: every bad line is reported with its line and field, and nothing is stored."""

from __future__ import annotations

import pytest

from coupons.reconciliation.models import LineKind, ReconciliationLine, ReconciliationRun
from coupons.reconciliation.parse import SettlementLine, SettlementRejected, parse_settlement
from tests.coupons.test_reconciliation import D1, D2, HEADER, reconcile


def _errors(data: bytes) -> list[tuple]:
    with pytest.raises(SettlementRejected) as caught:
        parse_settlement(data, period_from=D1, period_to=D2)
    return [(e.line, e.field, e.message) for e in caught.value.errors]


class TestParse:
    def test_good_lines_are_read_in_file_order_whatever_the_column_order(self):
        data = ("\ufeffKind,amount_fen,date,store_code,coupon_code,partner_ref,备注\n"
                "Redemption,500,2026-07-10,S1,abcd-efgh 1234,P1,门店A\n"
                "reversal,500,2026/07/11,S1,ABCDEFGH1234,P1R,\n").encode()
        assert parse_settlement(data, period_from=D1, period_to=D2) == [
            SettlementLine(2, D1, "S1", "ABCDEFGH1234", 500, "P1", LineKind.REDEMPTION),
            SettlementLine(3, D2, "S1", "ABCDEFGH1234", 500, "P1R", LineKind.REVERSAL),
        ]

    def test_gb18030_from_excel_is_read(self):
        data = (HEADER + "2026-07-10,S1,CODE1,500,退款单一,redemption\n").encode("gb18030")
        assert parse_settlement(data, period_from=D1, period_to=D2)[0].partner_ref == "退款单一"

    def test_every_bad_line_is_reported_with_its_line_and_field(self):
        data = (HEADER
                + "2026-07-10,S1,CODE1,500,P1,redemption\n"
                + "2026-02-30,S1,CODE2,500,P2,redemption\n"
                + "2026-07-10,S1,CODE3,5.5,P3,redemption\n"
                + "2026-07-10,S1,CODE4,500,P4,refund\n"
                + "2026-07-10,S1,CODE5,-1,P5,redemption\n"
                + "2026-07-10,S1,,500,P6,redemption\n"
                + "2026-07-12,S1,CODE7,500,P7,redemption\n").encode()
        errors = _errors(data)
        assert [(line, field) for line, field, _ in errors] == [
            (3, "date"), (4, "amount_fen"), (5, "kind"), (6, "amount_fen"), (7, "coupon_code"), (8, "date")]
        assert errors[4][2] == "is required"
        assert errors[5][2] == "2026-07-12 is outside the period 2026-07-10 to 2026-07-11"

    def test_a_missing_column_is_reported_on_the_header(self):
        assert _errors(b"date,store_code,coupon_code,partner_ref,kind\n2026-07-10,S1,C,P1,redemption\n") == [
            (1, "amount_fen", "missing column")]

    def test_a_file_in_neither_utf8_nor_gb18030_is_refused(self):
        assert _errors((HEADER + "2026-07-10,S1,C,500,P1,redemption\n").encode("utf-16")) == [
            (1, "file", "not a text file (UTF-8 or GB18030)")]
        assert [(line, field) for line, field, _ in _errors(HEADER.encode() + b"2026-07-10,S1,C,500,\x81\x20,x\n")] \
            == [(2, "file")]

    def test_an_empty_file_is_refused(self):
        assert _errors(b"") == [(1, "file", "the file is empty; the first line must be the header")]


async def test_a_malformed_file_stores_nothing():
    with pytest.raises(SettlementRejected) as caught:
        await reconcile((HEADER + "2026-07-10,S1,C1,500,P1,redemption\n2026-07-10,S1,C2,abc,P2,refund\n").encode())
    assert [(e.line, e.field) for e in caught.value.errors] == [(3, "amount_fen"), (3, "kind")]
    assert caught.value.detail == "2 error(s) in the file"
    assert await ReconciliationRun.all().count() == 0 and await ReconciliationLine.all().count() == 0
