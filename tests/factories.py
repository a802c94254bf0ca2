"""Keyword-only factories for test data; each makes what it needs and returns the row."""

from __future__ import annotations

import itertools
from datetime import UTC
from typing import TYPE_CHECKING

from hub.auth.models import Role
from hub.auth.service import create_key
from hub.products.models import Product, ProductCategory
from hub.regions.models import Region, RegionLevel
from hub.staff.models import Staff, StaffRole
from hub.stores.models import Store

if TYPE_CHECKING:
    from hub.campaigns.models import Campaign, CampaignStatus
    from hub.codes.models import Code, CodeKind

_seq = itertools.count(1)


async def make_region(*, level: RegionLevel = RegionLevel.GRID, parent: Region | None = None, code: str | None = None,
                      name: str | None = None) -> Region:
    n = next(_seq)
    if parent is None and level != RegionLevel.PROVINCE:
        chain = [RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.GRID]
        parent = await make_region(level=chain[chain.index(level) - 1])
    return await Region.create(code=code or f"R{n}", name=name or f"区域{n}", level=level, parent=parent)


async def make_store(*, region: Region | None = None, code: str | None = None, name: str | None = None) -> Store:
    n = next(_seq)
    region = region or await make_region()
    return await Store.create(code=code or f"S{n}", name=name or f"营业厅{n}", region=region)


async def make_staff(*, store: Store | None = None, staff_no: str | None = None, name: str | None = None,
                     role: StaffRole = StaffRole.CLERK) -> Staff:
    n = next(_seq)
    store = store or await make_store()
    return await Staff.create(staff_no=staff_no or f"E{n}", name=name or f"店员{n}", store=store, role=role,
                              wecom_userid=f"wx_user_{n}")


async def make_product(*, sku: str | None = None, category: ProductCategory = ProductCategory.LIGHT,
                       price_fen: int = 1000) -> Product:
    n = next(_seq)
    return await Product.create(sku=sku or f"P{n}", name=f"产品{n}", category=category, price_fen=price_fen)


async def make_key(*, role: Role = Role.OPS, store: Store | None = None, staff: Staff | None = None,
                   name: str = "") -> dict[str, str]:
    """Create an API key and return the Authorization header that uses it."""
    _, clear = await create_key(role=role, name=name, store_code=store.code if store else None,
                                staff_no=staff.staff_no if staff else None)
    return {"Authorization": f"Bearer {clear}"}


async def make_code(*, kind: CodeKind | None = None, store: Store | None = None, staff: Staff | None = None,
                    slug: str | None = None, target_url: str | None = None, **fields) -> Code:
    """A code straight in the table (no API checks): a staff code of a new store's member by default."""
    from hub.codes.models import Code, CodeKind

    n = next(_seq)
    kind = kind or CodeKind.STAFF
    if kind == CodeKind.STAFF and staff is None:
        staff = await make_staff(store=store)
    if staff is not None and store is None:
        store = await staff.store
    return await Code.create(
        slug=slug or f"TestSlug{n:04d}", kind=kind, store=store, staff=staff,
        target_url=target_url or f"http://hub.test/s/{store.code if store else 'x'}", **fields,
    )


async def make_campaign(*, status: CampaignStatus | str = "draft", starts_at=None, ends_at=None,
                        name: str = "活动", channels: list[str] | None = None) -> Campaign:
    """A campaign put straight into ``status`` (the approval flow itself is tested through the API)."""
    from datetime import datetime, timedelta

    from hub.campaigns.models import Campaign

    key, _ = await create_key(role=Role.OPS)
    starts_at = starts_at or datetime.now(UTC)
    return await Campaign.create(name=name, status=status, starts_at=starts_at,
                                 ends_at=ends_at or starts_at + timedelta(days=7),
                                 channels=channels or ["sms"], drafted_by_id=key.id)
