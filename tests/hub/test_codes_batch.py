"""Batch generation: the ZIP against its manifest and the database, reuse on re-runs, the API and the CLI.
(The outbox steps, failures and arq: test_codes_batch_jobs.py; API and worker as separate processes:
test_codes_batch_processes.py.)"""

import csv
import io
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

import zxingcpp
from PIL import Image

from hub.auth.models import Role
from hub.codes.batches import items
from hub.codes.batches.archive import MANIFEST_COLUMNS, write_zip
from hub.codes.batches.items import Per
from hub.codes.batches.models import CodeBatch, CodeBatchItem
from hub.codes.models import BatchStatus, Code
from hub.codes.slugs import public_url, qr_url
from hub.database import transaction
from hub.outbox.models import OutboxMessage
from hub.products.models import Product
from hub.regions.models import RegionLevel
from hub.staff.models import Staff
from hub.stores.models import Store, StoreLogo
from tests.factories import make_key, make_product, make_region, make_staff, make_store

HUB = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hub")


async def city_with_stores():
    """A city with two stores (three active staff, one left) and a store in another city; two products on sale."""
    city = await make_region(level=RegionLevel.CITY)
    county = await make_region(level=RegionLevel.COUNTY, parent=city)
    grid_a = await make_region(parent=county)
    grid_b = await make_region(parent=county)
    store_a = await make_store(region=grid_a, code="GZ-A", name="天河营业厅")
    store_b = await make_store(region=grid_b, code="GZ-B", name="越秀营业厅")
    elsewhere = await make_store(code="SZ-C", name="福田营业厅")
    staff = [await make_staff(store=store_a, staff_no="E2", name="李四"),
             await make_staff(store=store_a, staff_no="E1"),
             await make_staff(store=store_b, staff_no="E3")]
    await Staff.filter(id=(await make_staff(store=store_a, staff_no="E9")).id).update(active=False)
    await make_staff(store=elsewhere, staff_no="E5")
    products = [await make_product(sku="P-B", price_fen=12900), await make_product(sku="P-A")]
    await Product.filter(id=(await make_product(sku="P-OLD")).id).update(active=False)
    return city, (store_a, store_b, elsewhere), staff, products


async def checked_rows(data: bytes) -> list[dict]:
    """The manifest, after checking the ZIP holds exactly its files and each row matches its code in the DB."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = archive.read("manifest.csv")
    assert manifest.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for spreadsheets
    reader = csv.DictReader(io.StringIO(manifest.decode("utf-8-sig")))
    rows = list(reader)
    assert tuple(reader.fieldnames) == MANIFEST_COLUMNS
    assert set(archive.namelist()) == {"manifest.csv"} | {r["qr_file"] for r in rows} | {r["card_file"] for r in rows}
    assert len(archive.namelist()) == 1 + 2 * len(rows)
    for row in rows:
        code = await Code.get(slug=row["slug"]).select_related("store", "staff", "product")
        assert (row["url"], row["qr_url"], row["kind"]) == (public_url(code.slug), qr_url(code.slug), code.kind.value)
        assert (row["store_code"], row["store_name"]) == (code.store.code, code.store.name)
        staff = (code.staff.staff_no, code.staff.name) if code.staff else ("", "")
        assert (row["staff_no"], row["staff_name"]) == staff
        assert (row["product_sku"], row["product_name"]) == (
            (code.product.sku, code.product.name) if code.product else ("", ""))
        assert code.batch_key == items.batch_key(Per(code.kind.value), code.store_id, code.staff_id, code.product_id)
        # the store's logo in the middle forces level H
        level = "H" if await StoreLogo.exists(store_id=code.store_id) else "M"
        qr_image = Image.open(io.BytesIO(archive.read(row["qr_file"])))
        assert [(r.text, r.ec_level) for r in zxingcpp.read_barcodes(qr_image)] == [(row["qr_url"], level)]
        card = Image.open(io.BytesIO(archive.read(row["card_file"])))
        assert card.format == "PNG" and card.size == (750, 1050)
        assert [(r.text, r.ec_level) for r in zxingcpp.read_barcodes(card)] == [(row["qr_url"], level)]
    return rows


async def build(per: Per, **scope) -> tuple[bytes, items.Prepared]:
    """What the job and the CLI do: prepare in one transaction, then render."""
    stores = await items.scope_stores(**scope)
    async with transaction():
        prepared = await items.prepare(per=per, stores=stores)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "batch.zip"
        await write_zip(prepared.items, out=out)
        return out.read_bytes(), prepared


class TestBatchContents:
    async def test_per_staff_for_a_city_lists_its_active_staff_and_nothing_else(self):
        city, (store_a, store_b, _), staff, _ = await city_with_stores()
        data, prepared = await build(Per.STAFF, region_id=city.id)
        rows = await checked_rows(data)
        assert [(r["store_code"], r["staff_no"]) for r in rows] == [("GZ-A", "E1"), ("GZ-A", "E2"), ("GZ-B", "E3")]
        assert (prepared.created, prepared.reused) == (3, 0)
        assert rows[1]["staff_name"] == "李四" and rows[1]["qr_file"] == f"qr/GZ-A/E2-{rows[1]['slug']}.png"
        code = await Code.get(slug=rows[0]["slug"])
        assert code.target_url == "http://hub.test/s/GZ-A" and code.store_id == store_a.id

    async def test_rerunning_reuses_every_code_and_gives_the_same_archive(self):
        city, *_ = await city_with_stores()
        first, _ = await build(Per.STAFF, region_id=city.id)
        before = await Code.all().count()
        second, prepared = await build(Per.STAFF, region_id=city.id)
        assert await Code.all().count() == before == 3
        assert (prepared.created, prepared.reused) == (0, 3)
        assert second == first  # same codes, same images, same bytes

    async def test_per_product_makes_one_code_per_store_and_active_product(self):
        _, (store_a, *_), _, products = await city_with_stores()
        data, _ = await build(Per.PRODUCT, store_id=store_a.id)
        rows = await checked_rows(data)
        assert [(r["store_code"], r["product_sku"]) for r in rows] == [("GZ-A", "P-A"), ("GZ-A", "P-B")]
        code = await Code.get(slug=rows[1]["slug"])
        assert code.target_url == "http://hub.test/s/GZ-A/p/P-B" and code.product_id == products[0].id

    async def test_per_store_for_the_province_covers_every_active_store(self):
        _, (_, store_b, _), _, _ = await city_with_stores()
        await Store.filter(id=store_b.id).update(active=False)
        data, _ = await build(Per.STORE)
        assert [r["store_code"] for r in await checked_rows(data)] == ["GZ-A", "SZ-C"]

    async def test_a_stores_logo_goes_into_its_codes_only(self):
        city, (store_a, *_), *_ = await city_with_stores()
        logo = io.BytesIO()
        Image.new("RGB", (80, 80), (0, 90, 200)).save(logo, format="PNG")
        await StoreLogo.create(store_id=store_a.id, png=logo.getvalue())
        data, _ = await build(Per.STORE, region_id=city.id)
        rows = await checked_rows(data)  # GZ-A's code at level H with the logo, GZ-B's at M
        archive = zipfile.ZipFile(io.BytesIO(data))
        centres = [Image.open(io.BytesIO(archive.read(r["qr_file"]))).convert("RGB").getpixel((256, 256)) for r in rows]
        assert centres[0] == (0, 90, 200) and centres[1] != (0, 90, 200)

    async def test_a_disabled_code_is_left_out_not_replaced(self):
        city, *_ = await city_with_stores()
        _, first = await build(Per.STAFF, region_id=city.id)
        await Code.filter(slug=first.items[0].slug).update(active=False)
        data, again = await build(Per.STAFF, region_id=city.id)
        assert (again.created, again.reused, again.skipped_inactive) == (0, 2, 1)
        assert [r["slug"] for r in await checked_rows(data)] == [i.slug for i in first.items[1:]]
        assert await Code.all().count() == 3


async def start(client, headers, body: dict):
    return await client.post("/api/v1/codes/batches", headers=headers, json=body)


async def wait_done(client, headers, batch_id: str, queue) -> dict:
    await queue.drain(timeout=60)
    response = await client.get(f"/api/v1/codes/batches/{batch_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


class TestBatchApi:
    async def test_a_batch_runs_as_a_job_reports_progress_and_serves_the_zip(self, client, queue):
        city, *_ = await city_with_stores()
        ops = await make_key(role=Role.OPS)
        started = await start(client, ops, {"per": "staff", "region_id": city.id})
        assert started.status_code == 202, started.text
        body = started.json()
        assert (body["status"], body["done"], body["total"], body["download_url"]) == ("queued", 0, 3, None)
        status = await wait_done(client, ops, body["id"], queue)
        assert {k: status[k] for k in ("status", "done", "total", "created", "reused")} == {
            "status": "done", "done": 3, "total": 3, "created": 3, "reused": 0}
        download = await client.get(status["download_url"], headers=ops)
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
        assert download.headers["cache-control"].startswith("private")
        rows = await checked_rows(download.content)
        assert len(rows) == 3 and download.headers["content-disposition"].startswith("attachment;")
        assert all(not info.flag_bits & 0x08 for info in zipfile.ZipFile(io.BytesIO(download.content)).infolist())
        row = await CodeBatch.get(id=body["id"])  # the state is the row, not a file of the API process
        assert (row.status, row.done, row.created_by_id is not None, row.finished_at is not None) == (
            BatchStatus.DONE, 3, True, True)
        assert await CodeBatchItem.filter(batch_id=row.id, qr_png__isnull=False).count() == 3
        cli_bytes, _ = await build(Per.STAFF, region_id=city.id)
        assert download.content == cli_bytes  # the CLI's file and the API's download are the same archive
        codes = await Code.all().values_list("slug", flat=True)
        again = await start(client, ops, {"per": "staff", "region_id": city.id})
        status = await wait_done(client, ops, again.json()["id"], queue)
        assert (status["created"], status["reused"]) == (0, 3)
        assert sorted(await Code.all().values_list("slug", flat=True)) == sorted(codes)

    async def test_store_managers_batch_their_own_store_only(self, client, queue):
        city, (store_a, store_b, _), *_ = await city_with_stores()
        manager = await make_key(role=Role.STORE_MANAGER, store=store_a)
        own = await start(client, manager, {"per": "product", "store_id": store_a.id})
        assert own.status_code == 202, own.text
        for body in ({"per": "staff", "store_id": store_b.id}, {"per": "staff", "region_id": city.id},
                     {"per": "store", "province": True}):
            assert (await start(client, manager, body)).status_code == 403
        staff = await make_key(role=Role.STAFF, store=store_a)
        assert (await start(client, staff, {"per": "staff", "store_id": store_a.id})).status_code == 403
        ops = await make_key(role=Role.OPS)
        ops_batch = (await start(client, ops, {"per": "store", "province": True})).json()
        await queue.drain(timeout=60)
        assert (await client.get(f"/api/v1/codes/batches/{ops_batch['id']}", headers=manager)).status_code == 403
        other = await make_key(role=Role.STORE_MANAGER, store=store_b)
        download = f"/api/v1/codes/batches/{own.json()['id']}/download"
        assert (await client.get(download, headers=other)).status_code == 403
        mine = await client.get(download, headers=manager)
        assert mine.status_code == 200 and len(await checked_rows(mine.content)) == 2

    async def test_bad_requests_are_422_and_unknown_batches_404(self, client):
        city, (store_a, *_), *_ = await city_with_stores()
        ops = await make_key(role=Role.OPS)
        for body, field in (
            ({"per": "staff"}, "store_id"), ({"per": "staff", "store_id": store_a.id, "province": True}, "store_id"),
            ({"per": "moon", "province": True}, "per"), ({"per": "staff", "region_id": 999999}, "region_id"),
            ({"per": "staff", "store_id": 999999}, "store_id"), ({"per": "staff", "store_id": 0}, "store_id"),
        ):
            response = await client.post("/api/v1/codes/batches", headers=ops, json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["errors"][0]["field"] == field
        assert (await client.get("/api/v1/codes/batches/" + "0" * 32, headers=ops)).status_code == 404
        assert (await client.get("/api/v1/codes/batches/not-an-id", headers=ops)).status_code == 422
        assert not await CodeBatch.exists() and not await OutboxMessage.exists()  # nothing was started

    async def test_the_same_idempotency_key_starts_one_batch(self, client, queue):
        _, (store_a, *_), *_ = await city_with_stores()
        headers = {**await make_key(role=Role.OPS), "Idempotency-Key": "batch-1"}
        first = await start(client, headers, {"per": "store", "store_id": store_a.id})
        second = await start(client, headers, {"per": "store", "store_id": store_a.id})
        assert first.status_code == second.status_code == 202 and first.json()["id"] == second.json()["id"]
        await queue.drain(timeout=60)
        assert await CodeBatch.all().values_list("id", flat=True) == [first.json()["id"]]


def hub_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([HUB, *args], env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True,
                          timeout=300)


class TestBatchCli:
    async def test_cli_writes_the_zip_and_reuses_codes_on_the_second_run(self, tmp_path):
        city, *_ = await city_with_stores()
        out = tmp_path / "codes.zip"
        first = hub_cli("codes", "batch", "--per", "staff", "--region", city.code, "--out", str(out))
        assert first.returncode == 0, first.stderr
        assert "3 codes (3 new, 0 reused)" in first.stdout
        rows = await checked_rows(out.read_bytes())
        assert [r["staff_no"] for r in rows] == ["E1", "E2", "E3"]
        again = hub_cli("codes", "batch", "--per", "staff", "--region", city.code, "--out", str(out))
        assert again.returncode == 0 and "3 codes (0 new, 3 reused)" in again.stdout
        assert [r["slug"] for r in await checked_rows(out.read_bytes())] == [r["slug"] for r in rows]
        assert await Code.all().count() == 3

    async def test_cli_refuses_unknown_scopes_and_two_scopes(self, tmp_path):
        await city_with_stores()
        out = str(tmp_path / "x.zip")
        unknown = hub_cli("codes", "batch", "--per", "store", "--store", "NOPE", "--out", out)
        assert unknown.returncode == 2 and "no store NOPE" in unknown.stderr
        both = hub_cli("codes", "batch", "--per", "store", "--store", "GZ-A", "--province", "--out", out)
        assert both.returncode == 2 and "exactly one" in both.stderr
        assert not Path(out).exists() and await Code.all().count() == 0  # noqa: ASYNC240  one stat in a test
