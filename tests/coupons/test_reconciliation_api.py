"""Reconciliation over the API (ops and admin only, idempotent) and from the command line."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from coupons.reconciliation.models import ReconciliationRun
from hub.auth.models import Role
from tests.coupons.test_reconciliation import D1, D2, HEADER, UNKNOWN_CODE, every_kind_of_difference, redeemed
from tests.factories import make_key, make_staff, make_store

HUB = str(Path(sys.executable).with_name("hub"))
URL = "/api/v1/coupons/reconciliations"
PERIOD = {"from": D1.isoformat(), "to": D2.isoformat(), "source": "billing"}


async def upload(client, data: bytes, headers: dict, params: dict = PERIOD):
    return await client.post(URL, params=params, headers=headers, files={"file": ("settle.csv", data, "text/csv")})


class TestApi:
    async def test_upload_answers_the_run_and_its_differences_download_as_csv(self, client):
        ops = await make_key(role=Role.OPS)
        data, expected = await every_kind_of_difference()
        created = await upload(client, data, ops)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["counts"]["partner_hub"]["matched"] == 8
        assert body["counts"]["partner_hub"]["reversed_one_side_only"] == 2
        assert (body["source"], body["file_name"], body["period_from"]) == ("billing", "settle.csv", "2026-07-10")
        assert body["created_at"].endswith("+08:00")
        assert sum(c["count"] for s in body["stores"] for c in s["classes"].values()) == len(expected)

        shown = await client.get(f"{URL}/{body['id']}", headers=ops)
        assert shown.status_code == 200 and shown.json() == body

        csv_answer = await client.get(f"{URL}/{body['id']}/differences.csv", headers=ops)
        assert csv_answer.status_code == 200
        assert csv_answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
        assert sorted(r["class"] for r in rows) == sorted(e[0] for e in expected if e[0] != "matched")
        missing = next(r for r in rows if r["class"] == "missing_in_hub")
        assert (missing["coupon_code"], missing["amount_file_fen"], missing["amount_hub_fen"], missing["file_line"]) \
            == (UNKNOWN_CODE, "500", "", "3")

    async def test_runs_are_listed_for_ops_by_source_and_covered_day(self, client):
        ops = await make_key(role=Role.OPS)
        data = (HEADER + f"{D1},S1,{UNKNOWN_CODE},500,P1,redemption\n").encode()
        first = (await upload(client, data, ops)).json()
        other = (await upload(client, data, ops, params={**PERIOD, "source": "partner-b"})).json()

        listed = (await client.get(URL, headers=ops)).json()
        assert [r["id"] for r in listed["items"]] == [first["id"], other["id"]]
        assert listed["items"][0]["counts"] == first["counts"] and "stores" not in listed["items"][0]
        by_source = (await client.get(URL, params={"source": "partner-b"}, headers=ops)).json()["items"]
        assert [r["id"] for r in by_source] == [other["id"]]
        assert (await client.get(URL, params={"covers": D1.isoformat()}, headers=ops)).json()["items"]
        outside = {"covers": "2020-01-01"}
        assert (await client.get(URL, params=outside, headers=ops)).json()["items"] == []
        staff = await make_key(role=Role.STAFF, store=await make_store())
        assert (await client.get(URL, headers=staff)).status_code == 403

    async def test_a_pos_journal_upload_makes_the_run_three_way(self, client):
        ops = await make_key(role=Role.OPS)
        data = (HEADER + f"{D1},S1,{UNKNOWN_CODE},500,P1,redemption\n").encode()
        answer = await client.post(URL, params=PERIOD, headers=ops, files={
            "file": ("settle.csv", data, "text/csv"), "pos_journal": ("pos.csv", HEADER.encode(), "text/csv")})
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["pos_file_name"] == "pos.csv" and list(body["counts"]) == ["partner_hub", "pos_hub", "pos_partner"]
        assert body["counts"]["pos_partner"]["missing_in_pos"] == 1 and body["counts"]["pos_hub"]["matched"] == 0

    async def test_only_ops_and_admin_may_reconcile_or_read_runs(self, client):
        staff = await make_key(role=Role.STAFF, staff=await make_staff())
        data = (HEADER + f"{D1},S1,{UNKNOWN_CODE},500,P1,redemption\n").encode()
        assert (await upload(client, data, staff)).status_code == 403
        assert await ReconciliationRun.all().count() == 0
        run = (await upload(client, data, await make_key(role=Role.ADMIN))).json()
        assert (await client.get(f"{URL}/{run['id']}", headers=staff)).status_code == 403
        assert (await client.get(f"{URL}/{run['id']}/differences.csv", headers=staff)).status_code == 403

    async def test_the_same_idempotency_key_returns_the_first_run(self, client):
        ops = await make_key(role=Role.OPS)
        data = (HEADER + f"{D1},S1,{UNKNOWN_CODE},500,P1,redemption\n").encode()
        first = await upload(client, data, {**ops, "Idempotency-Key": "settle-0710"})
        again = await upload(client, data, {**ops, "Idempotency-Key": "settle-0710"})
        assert first.json() == again.json() and await ReconciliationRun.all().count() == 1
        other = await upload(client, data + b"\n2026-07-10,S1,X,1,P2,redemption\n",
                             {**ops, "Idempotency-Key": "settle-0710"})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_a_bad_file_answers_422_with_every_bad_line_and_stores_nothing(self, client):
        ops = await make_key(role=Role.OPS)
        data = (HEADER + "2026-07-10,S1,C1,ten,P1,redemption\n2026-07-10,S1,C2,5,P2,void\n").encode()
        answer = await upload(client, data, ops)
        assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
        assert [(e["line"], e["field"]) for e in answer.json()["errors"]] == [(2, "amount_fen"), (3, "kind")]
        assert await ReconciliationRun.all().count() == 0

    async def test_a_period_ending_before_it_starts_is_refused(self, client):
        ops = await make_key(role=Role.OPS)
        answer = await upload(client, HEADER.encode(), ops, {"from": "2026-07-11", "to": "2026-07-10"})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "to"

    async def test_unknown_runs_are_404(self, client):
        ops = await make_key(role=Role.OPS)
        assert (await client.get(f"{URL}/999", headers=ops)).status_code == 404
        assert (await client.get(f"{URL}/999/differences.csv", headers=ops)).status_code == 404


def hub(*args: str) -> subprocess.CompletedProcess:
    # In a subprocess: the command opens and closes the database itself, which must not touch this process's.
    return subprocess.run([HUB, "coupons", *args], env={**os.environ, "COLUMNS": "200"}, capture_output=True,
                          text=True, timeout=120)


class TestCli:
    async def test_reconcile_prints_the_summary_per_store_and_day_and_writes_the_differences(self, tmp_path):
        store = await make_store()
        code = await redeemed(store)
        path = tmp_path / "partner.csv"
        path.write_text(HEADER + f"{D1},{store.code},{code},500,P1,redemption\n"
                        f"{D2},{store.code},{UNKNOWN_CODE},700,P2,redemption\n", encoding="utf-8")
        result = hub("reconcile", str(path), "--from", str(D1), "--to", str(D2))
        assert result.returncode == 0, result.stderr
        summary = [line.split("│")[1:-1] for line in result.stdout.splitlines() if store.code in line]
        assert [[cell.strip() for cell in row] for row in summary] == [
            [store.code, "2026-07-10", "partner_hub", "matched", "1", "500", "500"],
            [store.code, "2026-07-11", "partner_hub", "missing_in_hub", "1", "700", "0"],
        ]
        run = await ReconciliationRun.get()
        assert f"Run {run.id} (2026-07-10 to 2026-07-11)." in result.stdout
        assert "partner_hub: matched 1, missing_in_hub 1" in result.stdout
        rows = list(csv.DictReader(io.StringIO((tmp_path / "partner-differences.csv").read_text("utf-8-sig"))))
        assert [(r["comparison"], r["class"], r["coupon_code"], r["day"]) for r in rows] == [
            ("partner_hub", "missing_in_hub", UNKNOWN_CODE, "2026-07-11")]

    async def test_with_a_pos_journal_the_summary_shows_each_comparison(self, tmp_path):
        store = await make_store()
        code = await redeemed(store)
        partner, pos = tmp_path / "partner.csv", tmp_path / "pos.csv"
        partner.write_text(HEADER + f"{D1},{store.code},{code},500,P1,redemption\n", encoding="utf-8")
        pos.write_text(HEADER + f"{D1},{store.code},{code},450,T1,redemption\n", encoding="utf-8")
        result = hub("reconcile", str(partner), "--from", str(D1), "--to", str(D1), "--pos-journal", str(pos))
        assert result.returncode == 0, result.stderr
        summary = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()
                   if store.code in line]
        assert [row[2:6] for row in summary] == [["partner_hub", "matched", "1", "500"],
                                                ["pos_hub", "amount_differs", "1", "450"],
                                                ["pos_partner", "amount_differs", "1", "450"]]
        assert (await ReconciliationRun.get()).pos_file_name == "pos.csv"

    async def test_a_bad_file_lists_every_bad_line_and_stores_nothing(self, tmp_path):
        path = tmp_path / "bad.csv"
        path.write_text(HEADER + "2026-07-10,S1,C1,1.5,P1,redemption\n2026-13-01,S1,C2,5,P2,redemption\n")
        result = hub("reconcile", str(path), "--from", str(D1), "--to", str(D2))
        assert result.returncode == 1
        assert "2 error(s) in the file. Nothing was stored." in result.stderr
        assert "amount_fen" in result.stdout and "date" in result.stdout
        assert await ReconciliationRun.all().count() == 0 and not (tmp_path / "bad-differences.csv").exists()
