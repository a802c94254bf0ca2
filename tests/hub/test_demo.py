"""`hub demo-data`: a believable province; the loader runs twice for the whole module (see ``runs``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pytest_asyncio

from hub.auth.models import ApiKey, Role
from hub.campaigns.models import Campaign
from hub.customers.models import Channel, ChannelConsent, Customer, Identity, IdentityKind
from hub.customers.phones import phone_hash
from hub.demo.data import DEMO_KEY_NAME, build_plan, load_demo_data
from hub.products.models import Product, ProductCategory
from hub.regions.models import Region, RegionLevel
from hub.staff.models import Staff, StaffRole
from hub.stores.models import Store

CHINESE_NAME = re.compile(r"[\u4e00-\u9fff]{2,3}")
CHINESE = re.compile(r"[\u4e00-\u9fff]+")
MASKED = re.compile(r"1[3-9]\d\*{4}\d{4}")
EXPECTED = {"regions": 28, "stores": 12, "staff": 60, "products": 40, "customers": 5000, "campaigns": 2}


@dataclass
class Snapshot:
    summary: dict[str, int]
    regions: dict[str, tuple]  # code → (name, level, parent code)
    stores: list[tuple]
    staff: list[tuple]
    products: list[tuple]
    customers: list[tuple]
    identities: list[tuple]
    consents: list[tuple]
    campaigns: list[tuple]
    demo_keys: list[tuple]
    region_ids: dict[str, int]
    store_ids: dict[str, int]


async def _snapshot(summary: dict[str, int]) -> Snapshot:
    region_code = dict(await Region.all().values_list("id", "code"))
    store_code = dict(await Store.all().values_list("id", "code"))
    regions = {code: (name, level, region_code.get(parent))
               for code, name, level, parent in await Region.all().values_list("code", "name", "level", "parent_id")}
    campaigns = []
    for campaign in await Campaign.all().order_by("name").prefetch_related("products"):
        campaigns.append((campaign.name, campaign.status, tuple(campaign.channels), campaign.drafted_by_id,
                          tuple(sorted(p.sku for p in campaign.products))))
    return Snapshot(
        summary=summary,
        regions=regions,
        stores=[(code, name, kind, region_code[region], address, phone, lat, lon)
                for code, name, kind, region, address, phone, lat, lon in await Store.all().order_by("code")
                .values_list("code", "name", "kind", "region_id", "address", "phone", "latitude", "longitude")],
        staff=[(no, name, store_code[store], role, wecom) for no, name, store, role, wecom in await Staff.all()
               .order_by("staff_no").values_list("staff_no", "name", "store_id", "role", "wecom_userid")],
        products=await Product.all().order_by("sku").values_list("sku", "name", "category", "price_fen", "active"),
        customers=await Customer.all().order_by("id").values_list(
            "id", "display_name", "phone_masked", "region_id", "home_store_id", "do_not_disturb"),
        identities=await Identity.all().order_by("id").values_list("id", "customer_id", "kind", "value", "verified"),
        consents=await ChannelConsent.all().order_by("id").values_list(
            "id", "customer_id", "channel", "consent", "do_not_disturb", "source"),
        campaigns=campaigns,
        demo_keys=await ApiKey.filter(name=DEMO_KEY_NAME).values_list("id", "role"),
        region_ids={code: id_ for id_, code in region_code.items()},
        store_ids={code: id_ for id_, code in store_code.items()},
    )


@pytest_asyncio.fixture(scope="module")
async def runs(migrated_database) -> tuple[Snapshot, Snapshot]:
    """The only two runs of the loader in this module, read back into memory (tables are emptied per test).

    Between them a user edits some demo rows; the second run must put them back, not add new ones.
    """
    first = await _snapshot(await load_demo_data())
    await Store.filter(code="GZ001").update(name="改过名的营业厅", latitude=0)
    await Staff.filter(staff_no=first.staff[0][0]).update(name="改名", role=StaffRole.CLERK)
    await Product.filter(sku="LT001").update(price_fen=1, active=False)
    await Customer.filter(id=first.customers[0][0]).update(display_name="改名", do_not_disturb=True)
    await ChannelConsent.filter(id=first.consents[0][0]).update(consent=not first.consents[0][3])
    second = await _snapshot(await load_demo_data())
    return first, second


async def test_summary_counts_the_demo_province(runs):
    first, _ = runs
    assert {k: first.summary[k] for k in EXPECTED} == EXPECTED
    assert len(first.regions) == 28 and len(first.stores) == 12 and len(first.staff) == 60
    assert len(first.products) == 40 and len(first.customers) == 5000 and len(first.campaigns) == 2
    assert first.summary["identities"] == len(first.identities)
    assert first.summary["consents"] == len(first.consents)


async def test_second_run_duplicates_nothing_and_puts_edited_rows_back(runs):
    first, second = runs
    assert second.summary == first.summary
    assert second.regions == first.regions
    assert second.stores == first.stores
    assert second.staff == first.staff
    assert second.products == first.products
    assert second.customers == first.customers
    assert second.identities == first.identities
    assert second.consents == first.consents
    assert second.campaigns == first.campaigns
    assert len(second.demo_keys) == 1


async def test_the_plan_is_the_same_for_the_same_seed():
    assert build_plan(customers=300) == build_plan(customers=300)
    assert build_plan(seed=1, customers=300) != build_plan(seed=2, customers=300)


async def test_every_store_sits_in_a_grid_under_county_city_province(runs):
    regions = runs[0].regions
    chain = [RegionLevel.GRID, RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE]
    for store in runs[0].stores:
        code = store[3]
        for level in chain:
            name, actual, parent = regions[code]
            assert actual == level, (store, code)
            code = parent
        assert code is None
    levels = Counter(level for _, level, _ in regions.values())
    assert levels[RegionLevel.PROVINCE] == 1 and levels[RegionLevel.CITY] == 3
    children = Counter(parent for _, _, parent in regions.values())
    for code, (_, level, _) in regions.items():
        if level == RegionLevel.CITY:
            assert children[code] in (2, 3)
        elif level == RegionLevel.COUNTY:
            assert children[code] == 2


async def test_every_store_has_five_staff_and_one_manager(runs):
    first = runs[0]
    per_store = Counter(store for _, _, store, _, _ in first.staff)
    assert set(per_store.values()) == {5} and len(per_store) == 12
    managers = Counter(store for _, _, store, role, _ in first.staff if role == StaffRole.MANAGER)
    assert set(managers.values()) == {1} and len(managers) == 12
    assert all(re.fullmatch(r"E\d{6}", no) and wecom for no, _, _, _, wecom in first.staff)
    assert {kind for _, _, kind, *_ in first.stores} == {"hall", "outlet", "flagship"}
    assert all(address and phone and lat and lon for *_, address, phone, lat, lon in first.stores)


async def test_products_cover_every_category_with_prices_in_fen(runs):
    products = runs[0].products
    assert {category for _, _, category, _, _ in products} == set(ProductCategory)
    assert all(isinstance(price, int) and price > 0 for _, _, _, price, _ in products)
    assert ("LT001", "5G畅享套餐129元", ProductCategory.LIGHT, 12900, True) in products


async def test_names_are_chinese(runs):
    first = runs[0]
    people = [name for _, name, *_ in first.staff] + [name for _, name, *_ in first.customers]
    assert all(CHINESE_NAME.fullmatch(name) for name in people)
    assert all(CHINESE.fullmatch(name) for name, _, _ in first.regions.values())
    assert all(CHINESE.fullmatch(name) for _, name, *_ in first.stores)
    assert all(CHINESE.search(name) for _, name, *_ in first.products)


async def test_every_customer_has_a_verified_phone_hash_and_a_masked_phone(runs):
    first = runs[0]
    hashes = {customer: value for _, customer, kind, value, verified in first.identities
              if kind == IdentityKind.PHONE_HASH and verified}
    assert len(hashes) == 5000 == sum(kind == IdentityKind.PHONE_HASH for _, _, kind, _, _ in first.identities)
    assert set(hashes) == {customer_id for customer_id, *_ in first.customers}
    assert set(hashes.values()) == {phone_hash(p.phone) for p in build_plan().customers}
    assert all(MASKED.fullmatch(masked) for _, _, masked, *_ in first.customers)


async def test_no_clear_phone_number_is_stored(runs):
    first = runs[0]
    stored = [str(v) for row in first.customers for v in row] + [str(v) for row in first.identities for v in row]
    windows = {m for text in stored for m in re.findall(r"(?=(\d{11}))", text)}
    clear = {p.phone for p in build_plan().customers}
    assert not windows & clear
    readable = [v for _, _, kind, v, _ in first.identities if kind != IdentityKind.PHONE_HASH]
    readable += [v for row in first.customers for v in row[1:3]]
    assert not [v for v in readable if re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", v)]


async def test_customers_have_app_wecom_and_consent_mix_of_a_real_base(runs):
    first = runs[0]
    kinds = Counter(kind for _, _, kind, _, _ in first.identities)
    assert 0.35 < kinds[IdentityKind.APP_USER] / 5000 < 0.45
    assert 0.20 < kinds[IdentityKind.WECOM_EXTERNAL] / 5000 < 0.30
    sms = [row for row in first.consents if row[2] == Channel.SMS]
    assert len(sms) == 5000
    withdrawn = sum(not consent for _, _, _, consent, _, _ in first.consents)
    quiet = sum(dnd for *_, dnd, _ in first.consents)
    assert 0.02 < withdrawn / len(first.consents) < 0.15
    assert 0.01 < quiet / len(first.consents) < 0.06
    assert 0 < sum(dnd for *_, dnd in first.customers) < 250
    city_of_store = {}
    for code, _, _, grid, *_ in first.stores:
        county = first.regions[grid][2]
        city_of_store[first.store_ids[code]] = first.region_ids[first.regions[county][2]]
    assert all(region == city_of_store[store] for _, _, _, region, store, _ in first.customers)
    assert len({store for *_, store, _ in first.customers}) == 12


async def test_campaigns_are_drafted_by_the_demo_ops_key(runs):
    first = runs[0]
    (key_id, role), = first.demo_keys
    assert role == Role.OPS
    by_status = {status: (name, channels, drafted_by, skus)
                 for name, status, channels, drafted_by, skus in first.campaigns}
    assert set(by_status) == {"running", "draft"}
    for _name, channels, drafted_by, skus in by_status.values():
        assert drafted_by == key_id and channels and skus
    assert by_status["running"][0] == "双11 5G焕新季"
