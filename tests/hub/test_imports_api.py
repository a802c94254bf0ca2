import asyncio
import os

from hub.auth.models import Role
from hub.products.models import Product
from hub.stores.models import Store
from tests.factories import make_key, make_region, make_store

PRODUCTS = "sku,name,category,price_fen\nP1,流量包,light,990\nP2,宽带,home,10000\n"


async def upload(client, kind: str, data: str | bytes, headers: dict, query: str = ""):
    body = data.encode() if isinstance(data, str) else data
    return await client.post(f"/api/v1/imports/{kind}{query}", headers=headers,
                             files={"file": ("import.csv", body, "text/csv")})


class TestImportApi:
    async def test_upload_writes_rows_and_answers_the_report(self, client):
        ops = await make_key(role=Role.OPS)
        response = await upload(client, "products", PRODUCTS, ops)
        assert response.status_code == 200, response.text
        assert response.json() == {"kind": "products", "rows": 2, "created": 2, "updated": 0, "unchanged": 0,
                                   "dry_run": False, "errors": [], "error_count": 0}
        assert sorted(await Product.all().values_list("sku", "price_fen")) == [("P1", 990), ("P2", 10000)]

    async def test_bad_file_answers_422_listing_every_bad_row(self, client):
        admin = await make_key(role=Role.ADMIN)
        response = await upload(client, "products", PRODUCTS + "P3,,light,1\nP4,会员,moon,1\n", admin)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert [(e["line"], e["field"]) for e in body["errors"]] == [(4, "name"), (5, "category")]
        assert body["detail"].startswith("2 error(s)")
        assert await Product.all().count() == 0

    async def test_dry_run_counts_and_writes_nothing(self, client):
        ops = await make_key(role=Role.OPS)
        response = await upload(client, "products", PRODUCTS, ops, "?dry_run=true")
        assert response.status_code == 200
        assert (response.json()["dry_run"], response.json()["created"]) == (True, 2)
        assert await Product.all().count() == 0

    async def test_staff_key_is_forbidden(self, client):
        staff = await make_key(role=Role.STAFF, store=await make_store())
        response = await upload(client, "products", PRODUCTS, staff)
        assert response.status_code == 403
        assert await Product.all().count() == 0

    async def test_file_over_20_mb_is_413(self, client):
        ops = await make_key(role=Role.OPS)
        big = b"sku,name,category,price_fen\n" + b"#" * (20 * 1024 * 1024)
        response = await upload(client, "products", big, ops)
        assert response.status_code == 413 and response.json()["status"] == 413

    async def test_unknown_kind_and_missing_file_are_422(self, client):
        ops = await make_key(role=Role.OPS)
        assert (await upload(client, "customers", PRODUCTS, ops)).status_code == 422
        missing = await client.post("/api/v1/imports/products", headers=ops, data={"x": "1"})
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "file"


async def hub_import(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        ".venv/bin/hub", "import", *args, env=os.environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


class TestImportCli:
    async def test_import_prints_the_summary_and_exits_0(self, tmp_path):
        await make_region(code="G1")
        path = tmp_path / "stores.csv"
        path.write_text("code,name,region_code\nS1,天河营业厅,G1\nS2,体育西网点,G1\n", encoding="gb18030")
        code, out, err = await hub_import("stores", str(path))
        assert code == 0, err
        assert "2 created, 0 updated, 0 unchanged" in out
        assert sorted(await Store.all().values_list("code", "name")) == [("S1", "天河营业厅"), ("S2", "体育西网点")]
        code, out, _ = await hub_import("stores", str(path))
        assert code == 0 and "0 created, 0 updated, 2 unchanged" in out

    async def test_bad_file_prints_the_bad_rows_exits_1_and_writes_nothing(self, tmp_path):
        await make_region(code="G1")
        path = tmp_path / "stores.csv"
        path.write_text("code,name,region_code\nS1,天河营业厅,G1\nS2,体育西网点,G404\nS3,,G1\n")
        code, out, err = await hub_import("stores", str(path))
        assert code == 1
        assert "region_code" in out and "no region G404" in out and "name" in out
        assert "2 error(s)" in err and "Nothing was written" in err
        assert await Store.all().count() == 0

    async def test_dry_run_writes_nothing(self, tmp_path):
        await make_region(code="G1")
        path = tmp_path / "stores.csv"
        path.write_text("code,name,region_code\nS1,天河营业厅,G1\n")
        code, out, _ = await hub_import("stores", str(path), "--dry-run")
        assert code == 0 and "1 would be created" in out and "dry run" in out
        assert await Store.all().count() == 0
