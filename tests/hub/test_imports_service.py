import logging

import pytest

from hub.database import transaction
from hub.errors import PayloadTooLarge
from hub.imports.kinds import ImportKind
from hub.imports.service import ImportRejected, import_csv
from hub.products.models import Product
from hub.regions.models import Region, RegionLevel
from hub.staff.models import Staff
from hub.stores.models import Store
from tests.factories import make_region, make_staff, make_store

STORES = """code,name,region_code,phone,active
S1,天河营业厅,G1,020-1,true
S2,体育西网点,G1,020-2,否
"""


async def run_import(kind: str, data: str | bytes, **options):
    async with transaction():
        return await import_csv(kind=ImportKind(kind), data=data.encode() if isinstance(data, str) else data,
                                **options)


async def rejection(kind: str, data: str | bytes) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        await run_import(kind, data)
    return info.value


def where(exc: ImportRejected) -> list[tuple[int | None, str]]:
    return [(e.line, e.field) for e in exc.errors]


class TestBadRowsWriteNothing:
    async def test_two_bad_rows_among_good_ones_are_both_reported_and_nothing_is_written(self):
        await make_region(code="G1")
        exc = await rejection("stores", "code,name,region_code,latitude\n"
                                        "S1,天河营业厅,G1,23.1\n"
                                        "S2,,G1,23.2\n"
                                        "S3,体育西网点,G1,23.3\n"
                                        "S4,珠江新城店,G1,north\n")
        assert where(exc) == [(3, "name"), (5, "latitude")]
        assert exc.report.error_count == 2 and exc.status == 422
        assert await Store.all().count() == 0

    async def test_errors_are_listed_up_to_1000_and_all_counted(self):
        rows = "".join(f"P{i},套餐{i},light,free\n" for i in range(1500))
        exc = await rejection("products", "sku,name,category,price_fen\n" + rows)
        assert exc.report.error_count == 1500
        assert [e.line for e in exc.errors] == list(range(2, 1002))
        assert "1500 error(s)" in exc.detail

    async def test_more_than_100000_rows_is_too_large(self):
        rows = "".join(f"P{i},n,light,1\n" for i in range(100_001))
        with pytest.raises(PayloadTooLarge):
            await run_import("products", "sku,name,category,price_fen\n" + rows)
        assert await Product.all().count() == 0

    async def test_quoted_cell_spanning_lines_keeps_physical_line_numbers(self):
        exc = await rejection("products", 'sku,name,category,price_fen,description\n'
                                          'P1,流量包,light,100,"第一行\n第二行"\n'
                                          'P2,视频会员,moon,100,\n')
        assert where(exc) == [(4, "category")]


class TestReimport:
    async def test_same_file_again_reports_all_unchanged_and_issues_no_write(self, caplog):
        await make_region(code="G1")
        first = await run_import("stores", STORES)
        assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
        before = await Store.all().order_by("id").values("id", "code", "updated_at", "active", "phone")
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            again = await run_import("stores", STORES)
        assert (again.rows, again.created, again.updated, again.unchanged) == (2, 0, 0, 2)
        statements = [r.getMessage().lstrip().upper() for r in caplog.records if r.name == "tortoise.db_client"]
        assert statements and not [s for s in statements if s.startswith(("UPDATE", "INSERT"))]
        assert await Store.all().order_by("id").values("id", "code", "updated_at", "active", "phone") == before
        assert [b["active"] for b in before] == [True, False]

    async def test_changed_row_is_updated_in_place(self):
        await make_region(code="G1")
        await run_import("stores", STORES)
        s2 = await Store.get(code="S2")
        report = await run_import("stores", STORES.replace("体育西网点,G1,020-2,否", "体育西旗舰店,G1,020-2,是"))
        assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
        after = await Store.get(code="S2")
        assert (after.id, after.name, after.active) == (s2.id, "体育西旗舰店", True)
        assert after.updated_at > s2.updated_at
        assert await Store.all().count() == 2

    async def test_absent_column_keeps_the_stored_value(self):
        await make_region(code="G1")
        await run_import("stores", STORES)
        report = await run_import("stores", "region_code,code,name\nG1,S1,天河营业厅\n")
        assert report.unchanged == 1
        assert (await Store.get(code="S1")).phone == "020-1"

    async def test_staff_move_to_another_store_keeps_id(self):
        old, new = await make_store(code="OLD"), await make_store(code="NEW")
        clerk = await make_staff(store=old, staff_no="E1")
        report = await run_import("staff", f"staff_no,name,store_code\nE1,{clerk.name},NEW\n")
        assert report.updated == 1
        moved = await Staff.get(staff_no="E1")
        assert (moved.id, moved.store_id, moved.wecom_userid) == (clerk.id, new.id, clerk.wecom_userid)


class TestRegions:
    async def test_parents_later_in_the_file_are_written_first(self):
        report = await run_import("regions", "code,name,level,parent_code\n"
                                             "TH01,天河01网格,grid,TH\n"
                                             "TH,天河区,county,GZ\n"
                                             "GZ,广州市,City,GD\n"
                                             "GD,广东省,province,\n")
        assert report.created == 4
        chain = {r.code: r for r in await Region.all()}
        assert chain["TH01"].parent_id == chain["TH"].id
        assert chain["TH"].parent_id == chain["GZ"].id
        assert chain["GZ"].parent_id == chain["GD"].id and chain["GD"].parent_id is None
        assert chain["GZ"].level == RegionLevel.CITY

    async def test_stored_region_moves_under_a_parent_created_by_the_same_file(self):
        gz = await make_region(level=RegionLevel.PROVINCE, code="GZ")
        report = await run_import("regions", "code,name,level,parent_code\nGZ,广州市,city,GD\nGD,广东省,province,\n")
        assert (report.created, report.updated) == (1, 1)
        moved = await Region.get(code="GZ")
        assert (moved.id, moved.level, moved.parent_id) == (gz.id, RegionLevel.CITY, (await Region.get(code="GD")).id)

    async def test_parent_of_the_wrong_level_is_refused(self):
        exc = await rejection("regions", "code,name,level,parent_code\n"
                                         "GD,广东省,province,\n"
                                         "TH,天河区,county,GD\n"
                                         "SZ,深圳市,city,\n")
        assert where(exc) == [(3, "parent_code"), (4, "parent_code")]
        assert await Region.all().count() == 0

    async def test_stored_parent_and_unknown_parent(self):
        await make_region(level=RegionLevel.CITY, code="GZ")
        exc = await rejection("regions", "code,name,level,parent_code\n"
                                         "TH,天河区,county,GZ\n"
                                         "YX,越秀区,county,NOPE\n")
        assert where(exc) == [(3, "parent_code")] and "no region NOPE" in exc.errors[0].message

    async def test_level_change_that_strands_stored_children_is_refused(self):
        city = await make_region(level=RegionLevel.CITY, code="GZ")
        await make_region(level=RegionLevel.COUNTY, parent=city, code="TH")
        exc = await rejection("regions", "code,name,level\nGZ,广州,province\n")
        assert where(exc) == [(2, "level")]


class TestReferences:
    async def test_unknown_region_of_a_store_is_reported(self):
        await make_region(code="G1")
        exc = await rejection("stores", "code,name,region_code\nS1,一店,G1\nS2,二店,G404\n")
        assert where(exc) == [(3, "region_code")] and exc.errors[0].message == "no region G404"

    async def test_a_store_outside_a_grid_is_reported(self):
        grid = await make_region(code="G1")
        county = await grid.parent
        exc = await rejection("stores", f"code,name,region_code\nS1,一店,G1\nS2,二店,{county.code}\n")
        assert where(exc) == [(3, "region_code")] and "belong to a grid" in exc.errors[0].message

    async def test_unknown_store_of_a_staff_member_is_reported(self):
        await make_store(code="S1")
        exc = await rejection("staff", "staff_no,name,store_code\nE1,张三,S1\nE2,李四,S404\n")
        assert where(exc) == [(3, "store_code")]

    async def test_wecom_userid_of_another_staff_member_is_refused(self):
        taken = await make_staff(staff_no="E1")
        exc = await rejection("staff", f"staff_no,name,store_code,wecom_userid\n"
                                       f"E1,{taken.name},{(await taken.store).code},{taken.wecom_userid}\n"
                                       f"E2,李四,{(await taken.store).code},{taken.wecom_userid}\n")
        assert where(exc) == [(3, "wecom_userid")]
        assert await Staff.all().count() == 1


class TestDuplicates:
    async def test_repeated_key_is_reported_on_the_later_line(self):
        exc = await rejection("products", "sku,name,category,price_fen\n"
                                          "P1,流量包,light,990\n"
                                          "P2,宽带,home,10000\n"
                                          "P1,流量包加量,light,1990\n")
        assert where(exc) == [(4, "sku")] and exc.errors[0].message == "P1 is also on line 2"

    async def test_repeated_wecom_userid_in_the_file_is_reported(self):
        await make_store(code="S1")
        exc = await rejection("staff", "staff_no,name,store_code,wecom_userid\nE1,张三,S1,zs\nE2,李四,S1,zs\n")
        assert where(exc) == [(3, "wecom_userid")]


class TestEncodingAndHeader:
    async def test_gb18030_file_from_excel_is_read(self):
        data = "sku,name,category,price_fen,description\nP1,畅享套餐,equity,5900,视频会员\n".encode("gb18030")
        await run_import("products", data)
        product = await Product.get(sku="P1")
        assert (product.name, product.description, product.price_fen) == ("畅享套餐", "视频会员", 5900)

    async def test_utf8_bom_is_skipped(self):
        await run_import("products", "\ufeffsku,name,category,price_fen\r\nP1,流量包,light,990\r\n".encode())
        assert (await Product.get(sku="P1")).name == "流量包"

    async def test_bytes_that_are_neither_utf8_nor_gb18030_are_one_error(self):
        exc = await rejection("products", b"sku,name,category,price_fen\nP1,\xff\xff,light,1\n")
        assert where(exc) == [(2, "file")]

    async def test_missing_and_unknown_columns_are_reported_on_line_1(self):
        exc = await rejection("products", "sku,name,colour,price_fen\nP1,流量包,red,990\n")
        assert sorted(where(exc)) == [(1, "category"), (1, "colour")]

    async def test_columns_in_any_order_with_optional_ones_left_out(self):
        await run_import("products", "price_fen,category,SKU,name\n990,LIGHT,P1,流量包\n")
        product = await Product.get(sku="P1")
        assert (product.active, product.description, product.category) == (True, "", "light")


class TestBooleansAndDryRun:
    async def test_booleans_in_chinese_and_english(self):
        await run_import("products", "sku,name,category,price_fen,active\n"
                                     "A,a,light,1,是\nB,b,light,1,否\nC,c,light,1,yes\nD,d,light,1,0\n")
        assert dict(await Product.all().values_list("sku", "active")) == {"A": True, "B": False, "C": True, "D": False}
        exc = await rejection("products", "sku,name,category,price_fen,active\nE,e,light,1,maybe\n")
        assert where(exc) == [(2, "active")]

    async def test_dry_run_counts_but_writes_nothing(self):
        await make_region(code="G1")
        report = await run_import("stores", STORES, dry_run=True)
        assert (report.dry_run, report.created, report.rows) == (True, 2, 2)
        assert await Store.all().count() == 0

    async def test_progress_reaches_twice_the_row_count(self):
        await make_region(code="G1")
        seen = []
        await run_import("stores", STORES, progress=lambda done, total: seen.append((done, total)))
        assert seen[-1] == (4, 4)
