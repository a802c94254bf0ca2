"""`hub demo-data`: a believable province, the same every time, loaded idempotently.

The plan is drawn from ``random.Random(seed)`` alone, before the database is touched, so what the
database already holds cannot change it. Each stage then upserts its part by natural key (region code,
store code, staff_no, sku, identity (kind, value), campaign name) in one transaction of its own, so a
second run, or a run after an interrupted one, converges on the same rows.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise import Tortoise

from hub.auth.models import ApiKey, Role
from hub.auth.service import create_key
from hub.campaigns.models import Campaign, CampaignStatus
from hub.customers.models import Channel, ChannelConsent, Customer, Identity, IdentityKind
from hub.customers.phones import mask_phone, phone_hash
from hub.database import dialect, transaction
from hub.demo import names
from hub.products.models import Product
from hub.regions.models import Region, RegionLevel
from hub.settings import TIMEZONE
from hub.staff.models import Staff, StaffRole
from hub.stores.models import Store, StoreKind

if TYPE_CHECKING:
    from rich.progress import Progress

SEED = 20261111
CUSTOMERS = 5000
BATCH = 500
DEMO_KEY_NAME = "demo data"
STAFF_ROLES = (StaffRole.MANAGER, StaffRole.MANAGER_ON_DUTY, StaffRole.CLERK, StaffRole.CLERK, StaffRole.CLERK)
_TOKEN = string.ascii_letters + string.digits  # mostly letters, so no token reads like a phone number
_HOME_STORE_WEIGHT = {StoreKind.FLAGSHIP: 3, StoreKind.HALL: 2, StoreKind.OUTLET: 1}
_SURNAME_WEIGHTS = list(accumulate(1 / (rank + 8) for rank in range(len(names.SURNAMES))))  # 王 ≈ 5%, like life


@dataclass(frozen=True)
class DemoCustomer:
    phone: str  # clear, in memory only: the database gets phone_hash() and mask_phone() of it
    name: str
    store_code: str
    city_code: str
    do_not_disturb: bool
    app_user: str | None
    wecom_external: str | None
    consents: tuple[tuple[Channel, bool, bool, str], ...]  # channel, consent, do_not_disturb, source


@dataclass(frozen=True)
class DemoPlan:
    regions: list[dict]  # code, name, level, parent_code
    stores: list[dict]  # Store columns, with grid_code instead of region
    staff: list[dict]  # Staff columns, with store_code instead of store
    products: list[dict]
    customers: list[DemoCustomer]


def build_plan(seed: int = SEED, customers: int = CUSTOMERS) -> DemoPlan:
    """The whole demo province as plain values; the same seed always gives the same plan."""
    rng = random.Random(seed)  # noqa: S311  reproducible demo data, not secrets
    regions, grids, city_of_grid = _regions()
    stores = []
    for code, name, kind, grid_name, street in names.STORES:
        grid_code, lat, lon, city_name, county_name, area = grids[grid_name]
        stores.append({
            "code": code, "name": name, "kind": kind, "grid_code": grid_code,
            "address": f"{names.PROVINCE[1]}{city_name}{county_name}{street}",
            "phone": f"{area}-{rng.randint(3000_0000, 8999_9999)}",
            "latitude": round(lat + rng.uniform(-0.004, 0.004), 6),
            "longitude": round(lon + rng.uniform(-0.004, 0.004), 6),
        })
    numbers = sorted(rng.sample(range(100, 20000), len(stores) * len(STAFF_ROLES)))
    staff: list[dict] = []
    for store in stores:
        for role in STAFF_ROLES:
            staff_no = f"E{numbers[len(staff)]:06d}"
            staff.append({"staff_no": staff_no, "name": _person_name(rng), "store_code": store["code"],
                          "role": role, "wecom_userid": f"wx{staff_no}"})
    fields = ("sku", "name", "category", "price_fen", "description")
    products = [dict(zip(fields, p, strict=True)) for p in names.PRODUCTS]
    store_city = {s["code"]: city_of_grid[s["grid_code"]] for s in stores}
    people = _customers(rng, customers, stores, store_city)
    return DemoPlan(regions, stores, staff, products, people)


def _regions() -> tuple[list[dict], dict[str, tuple], dict[str, str]]:
    province_code, province_name = names.PROVINCE
    regions = [{"code": province_code, "name": province_name, "level": RegionLevel.PROVINCE, "parent_code": None}]
    grids: dict[str, tuple] = {}
    city_of_grid: dict[str, str] = {}
    for city_code, city_name, area, counties in names.CITIES:
        regions.append({"code": city_code, "name": city_name, "level": RegionLevel.CITY,
                        "parent_code": province_code})
        for county_code, county_name, county_grids in counties:
            regions.append({"code": county_code, "name": county_name, "level": RegionLevel.COUNTY,
                            "parent_code": city_code})
            for n, (grid_name, lat, lon) in enumerate(county_grids, start=1):
                grid_code = f"{county_code}G{n:02d}"
                regions.append({"code": grid_code, "name": f"{grid_name}网格", "level": RegionLevel.GRID,
                                "parent_code": county_code})
                grids[grid_name] = (grid_code, lat, lon, city_name, county_name, area)
                city_of_grid[grid_code] = city_code
    return regions, grids, city_of_grid


def _person_name(rng: random.Random) -> str:
    surname = rng.choices(names.SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
    given = rng.choice(names.GIVEN) if rng.random() < 0.25 else rng.choice(names.GIVEN) + rng.choice(names.GIVEN)
    return surname + given


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_TOKEN, k=length))


def _customers(rng: random.Random, count: int, stores: list[dict], store_city: dict[str, str]) -> list[DemoCustomer]:
    store_codes = [s["code"] for s in stores]
    weights = [_HOME_STORE_WEIGHT[s["kind"]] for s in stores]
    seen_masks: set[str] = set()  # unique masks let a bulk insert be matched back to its rows
    people: list[DemoCustomer] = []
    while len(people) < count:
        phone = rng.choice(names.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        mask = mask_phone(phone)
        if mask in seen_masks:
            continue
        seen_masks.add(mask)
        store_code = rng.choices(store_codes, weights=weights)[0]
        app_user = f"app_{_token(rng, 16)}" if rng.random() < 0.40 else None
        wecom = f"wm{_token(rng, 30)}" if rng.random() < 0.25 else None
        consents = [(Channel.SMS, rng.random() > 0.08, rng.random() < 0.03, rng.choice(("store", "import")))]
        if app_user:
            consents.append((Channel.APP, rng.random() > 0.05, rng.random() < 0.03, "app"))
        if wecom:
            consents.append((Channel.WECOM, rng.random() > 0.03, rng.random() < 0.03, "wecom"))
        if rng.random() < 0.30:
            consents.append((Channel.CALL, rng.random() > 0.30, rng.random() < 0.05, "store"))
        people.append(DemoCustomer(
            phone=phone, name=_person_name(rng), store_code=store_code, city_code=store_city[store_code],
            do_not_disturb=rng.random() < 0.02, app_user=app_user, wecom_external=wecom,
            consents=tuple(consents),
        ))
    return people


class _Stage:
    """One line of the progress display; silent without a Progress."""

    def __init__(self, progress: Progress | None, name: str, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task(name, total=total) if progress is not None else None

    def advance(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)


async def load_demo_data(*, progress: Progress | None = None, seed: int = SEED,
                         customers: int = CUSTOMERS) -> dict[str, int]:
    """Upsert the demo province stage by stage; returns how many rows of each kind it holds."""
    plan = build_plan(seed, customers)
    region_ids = await _load_regions(plan.regions, _Stage(progress, "regions", len(plan.regions)))
    store_ids = await _load_stores(plan.stores, region_ids, _Stage(progress, "stores", len(plan.stores)))
    await _load_staff(plan.staff, store_ids, _Stage(progress, "staff", len(plan.staff)))
    await _load_products(plan.products, _Stage(progress, "products", len(plan.products)))
    customer_ids = await _load_customers(
        plan.customers, region_ids, store_ids, _Stage(progress, "customers", len(plan.customers))
    )
    identities = await _load_identities(
        plan.customers, customer_ids, _Stage(progress, "identities", len(plan.customers))
    )
    consents = await _load_consents(plan.customers, customer_ids, _Stage(progress, "consents", len(plan.customers)))
    campaigns = await _load_campaigns(_Stage(progress, "campaigns", len(names.CAMPAIGNS)))
    await _refresh_statistics()
    return {
        "regions": len(plan.regions), "stores": len(plan.stores), "staff": len(plan.staff),
        "products": len(plan.products), "customers": len(plan.customers), "identities": identities,
        "consents": consents, "campaigns": campaigns,
    }


async def _load_regions(regions: list[dict], stage: _Stage) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with transaction():
        for level in RegionLevel:  # declared province → grid, so every parent exists before its children
            rows = [r for r in regions if r["level"] == level]
            await Region.bulk_create(
                [Region(code=r["code"], name=r["name"], level=level, parent_id=ids.get(r["parent_code"]))
                 for r in rows],
                on_conflict=["code"], update_fields=["name", "level", "parent_id", "updated_at"],
            )
            ids.update(await _ids_by(Region, "code", [r["code"] for r in rows]))
            stage.advance(len(rows))
    return ids


async def _load_stores(stores: list[dict], region_ids: dict[str, int], stage: _Stage) -> dict[str, int]:
    columns = ["name", "kind", "region_id", "address", "phone", "latitude", "longitude", "active"]
    async with transaction():
        await Store.bulk_create(
            [Store(**{k: v for k, v in s.items() if k != "grid_code"}, region_id=region_ids[s["grid_code"]],
                   active=True) for s in stores],
            on_conflict=["code"], update_fields=[*columns, "updated_at"],
        )
        ids = await _ids_by(Store, "code", [s["code"] for s in stores])
    stage.advance(len(stores))
    return ids


async def _load_staff(staff: list[dict], store_ids: dict[str, int], stage: _Stage) -> None:
    columns = ["name", "store_id", "role", "wecom_userid", "active"]
    async with transaction():
        await Staff.bulk_create(
            [Staff(**{k: v for k, v in s.items() if k != "store_code"}, store_id=store_ids[s["store_code"]],
                   active=True) for s in staff],
            on_conflict=["staff_no"], update_fields=[*columns, "updated_at"],
        )
    stage.advance(len(staff))


async def _load_products(products: list[dict], stage: _Stage) -> None:
    async with transaction():
        await Product.bulk_create(
            [Product(**p, active=True) for p in products],
            on_conflict=["sku"],
            update_fields=["name", "category", "price_fen", "description", "active", "updated_at"],
        )
    stage.advance(len(products))


async def _ids_by(model, key: str, values: list[str]) -> dict[str, int]:
    return dict(await model.filter(**{f"{key}__in": values}).values_list(key, "id"))


async def _load_customers(people: list[DemoCustomer], region_ids: dict[str, int], store_ids: dict[str, int],
                          stage: _Stage) -> list[int]:
    """Customers, found again by their phone_hash identity; returns their ids in plan order."""
    columns = ("display_name", "phone_masked", "region_id", "home_store_id", "do_not_disturb")
    ids: list[int] = []
    async with transaction():
        for start in range(0, len(people), BATCH):
            chunk = people[start:start + BATCH]
            hashes = [phone_hash(p.phone) for p in chunk]
            wanted = [(p.name, mask_phone(p.phone), region_ids[p.city_code], store_ids[p.store_code],
                       p.do_not_disturb) for p in chunk]
            known = dict(await Identity.filter(kind=IdentityKind.PHONE_HASH, value__in=hashes)
                         .values_list("value", "customer_id"))
            held = {row[0]: row[1:] for row in
                    await Customer.filter(id__in=list(known.values())).values_list("id", *columns)}
            # Rewrite only the rows that drifted: rewriting all is slow (a CASE per column on PostgreSQL).
            drifted = [Customer(id=known[h], **dict(zip(columns, w, strict=True)))
                       for h, w in zip(hashes, wanted, strict=True) if h in known and held.get(known[h]) != w]
            if drifted:
                await Customer.bulk_update(drifted, fields=columns, batch_size=BATCH)
            new = [(h, Customer(**dict(zip(columns, w, strict=True)))) for h, w in zip(hashes, wanted, strict=True)
                   if h not in known]
            if new:
                new_ids = await _insert_customers([c for _, c in new])
                await Identity.bulk_create([
                    Identity(customer_id=customer_id, kind=IdentityKind.PHONE_HASH, value=h, verified=True)
                    for (h, _), customer_id in zip(new, new_ids, strict=True)
                ])
                known.update(zip((h for h, _ in new), new_ids, strict=True))
            ids.extend(known[h] for h in hashes)
            stage.advance(len(chunk))
    return ids


async def _insert_customers(rows: list[Customer]) -> list[int]:
    """Bulk-insert customers and return their new ids (bulk_create does not report them)."""
    last = await Customer.all().order_by("-id").first().values_list("id", flat=True)
    await Customer.bulk_create(rows)
    # Demo masks are unique, so the rows just inserted are told apart by mask.
    found = dict(await Customer.filter(id__gt=last or 0, phone_masked__in=[r.phone_masked for r in rows])
                 .values_list("phone_masked", "id"))
    if len(found) != len(rows):
        raise RuntimeError("demo customers could not be matched back to their rows; run hub demo-data again")
    return [found[r.phone_masked] for r in rows]


def _batches(people: list[DemoCustomer], ids: list[int]) -> Iterator[list[tuple[DemoCustomer, int]]]:
    for start in range(0, len(people), BATCH):
        yield list(zip(people[start:start + BATCH], ids[start:start + BATCH], strict=True))


async def _load_identities(people: list[DemoCustomer], ids: list[int], stage: _Stage) -> int:
    """App and WeCom identities; one already held by a customer (after a merge) stays where it is."""
    total = 0
    async with transaction():
        for batch in _batches(people, ids):
            rows = [
                Identity(customer_id=customer_id, kind=kind, value=value, verified=True)
                for p, customer_id in batch
                for kind, value in ((IdentityKind.APP_USER, p.app_user),
                                    (IdentityKind.WECOM_EXTERNAL, p.wecom_external))
                if value is not None
            ]
            if rows:
                await Identity.bulk_create(rows, on_conflict=["kind", "value"],
                                           update_fields=["verified", "updated_at"])
            total += len(rows)
            stage.advance(len(batch))
    return total + len(people)  # plus one phone_hash identity each


async def _load_consents(people: list[DemoCustomer], ids: list[int], stage: _Stage) -> int:
    total = 0
    async with transaction():
        for batch in _batches(people, ids):
            rows = [
                ChannelConsent(customer_id=customer_id, channel=channel, consent=consent,
                               do_not_disturb=quiet, source=source)
                for p, customer_id in batch
                for channel, consent, quiet, source in p.consents
            ]
            await ChannelConsent.bulk_create(
                rows, on_conflict=["customer_id", "channel"],
                update_fields=["consent", "do_not_disturb", "source", "updated_at"],
            )
            total += len(rows)
            stage.advance(len(batch))
    return total


async def _load_campaigns(stage: _Stage) -> int:
    """Created when missing, otherwise left alone: once made, a campaign's state belongs to its approval flow."""
    async with transaction():
        key = await ApiKey.filter(name=DEMO_KEY_NAME, role=Role.OPS).order_by("id").first()
        if key is None:
            key, _clear = await create_key(role=Role.OPS, name=DEMO_KEY_NAME)  # nobody needs to sign in as it
        today = datetime.now(ZoneInfo(TIMEZONE)).replace(hour=0, minute=0, second=0, microsecond=0)
        for name, description, status, start_day, days, channels, budget_fen, skus in names.CAMPAIGNS:
            if not await Campaign.exists(name=name):
                starts_at = today + timedelta(days=start_day)
                running = status == CampaignStatus.RUNNING
                campaign = await Campaign.create(
                    name=name, description=description, status=status, starts_at=starts_at,
                    ends_at=starts_at + timedelta(days=days), channels=channels, budget_fen=budget_fen,
                    drafted_by=key, approved_by=key if running else None,
                    approved_at=starts_at - timedelta(days=2) if running else None,
                    started_at=starts_at if running else None,
                )
                await campaign.products.add(*await Product.filter(sku__in=skus).order_by("sku"))
            stage.advance(1)
    return len(names.CAMPAIGNS)


async def _refresh_statistics() -> None:
    """Let PostgreSQL's planner see the rows just loaded; with "empty table" statistics look-ups crawl."""
    if dialect() == "postgres":
        await Tortoise.get_connection("default").execute_script(
            "ANALYZE customer, customer_identity, customer_channel"
        )
