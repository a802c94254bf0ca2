"""A batch's items: one code per staff member, per product or per store, for a store, a region or the
whole province, each described for the ZIP's manifest and images (``hub.codes.batches.archive``).

Running the same batch again reuses its codes: each carries ``batch_key`` (unique), so printed codes
stay valid and a retried job creates nothing twice. ``prepare`` writes (run it in the caller's
transaction). The API's batches keep their state and images in the database (``service``); the CLI
draws straight into its file (``archive.write_zip``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.codes import slugs
from hub.codes.models import BatchPer, Code, CodeKind
from hub.codes.targets import storefront_url
from hub.errors import InvalidInput, present
from hub.products.models import Product
from hub.regions.models import Region
from hub.regions.service import region_ids_under
from hub.staff.models import Staff
from hub.stores.models import Store

MAX_CODES = 10_000  # one ZIP of about 10,000 × 60 KB; larger scopes are split by city


Per = BatchPer  # the enum lives with the models, so the batch table's column can use it

_KIND = {Per.STAFF: CodeKind.STAFF, Per.PRODUCT: CodeKind.PRODUCT, Per.STORE: CodeKind.STORE}


class BatchTooLarge(InvalidInput):
    title = "The batch would make too many codes"


@dataclass
class BatchItem:
    """One code of the batch, as plain data: what the manifest says and what its images show."""

    slug: str
    url: str
    qr_url: str
    kind: str
    store_code: str
    store_name: str
    staff_no: str = ""
    staff_name: str = ""
    product_sku: str = ""
    product_name: str = ""
    qr_file: str = ""
    card_file: str = ""
    price_fen: int | None = None
    store_id: int = 0  # whose logo goes in the middle (read while rendering: one logo in memory at a time)


@dataclass
class Prepared:
    items: list[BatchItem]
    created: int = 0
    reused: int = 0
    skipped_inactive: int = 0  # reused codes someone disabled: never printed again


def batch_key(per: Per, store_id: int, staff_id: int | None = None, product_id: int | None = None) -> str:
    return f"batch:{_KIND[per].value}:{store_id}:{staff_id or ''}:{product_id or ''}"


async def resolve_region(code: str, *, field_name: str = "region") -> Region:
    region = await Region.get_or_none(code=code)
    if region is None:
        raise InvalidInput.field(field_name, f"no region {code}")
    return region


async def scope_stores(*, store_id: int | None = None, region_id: int | None = None) -> list[Store]:
    """Active stores of the scope in code order: one store, every store under a region, or all of them.

    Without their logos (up to 256 KB each): a province's worth would not fit in memory.
    """
    query = Store.filter(active=True)
    if store_id is not None:
        query = query.filter(id=store_id)
    elif region_id is not None:
        query = query.filter(region_id__in=await region_ids_under(region_id))
    return await query.order_by("code").only("id", "code", "name")


async def count_codes(*, per: Per, stores: list[Store]) -> int:
    """How many codes the batch makes, checked against ``MAX_CODES`` before any work starts."""
    if per == Per.STORE:
        total = len(stores)
    elif per == Per.STAFF:
        total = await Staff.filter(active=True, store_id__in=[s.id for s in stores]).count() if stores else 0
    else:
        total = len(stores) * await Product.filter(active=True).count()
    if total > MAX_CODES:
        raise BatchTooLarge.field("per", f"would make {total:,} codes, at most {MAX_CODES:,}: narrow the scope")
    return total


async def _targets(per: Per, stores: list[Store]) -> list[tuple[Store, Staff | None, Product | None]]:
    if per == Per.STORE:
        return [(store, None, None) for store in stores]
    by_id = {store.id: store for store in stores}
    if per == Per.STAFF:
        staff = await Staff.filter(active=True, store_id__in=list(by_id)).order_by("staff_no") if stores else []
        order = {store.id: n for n, store in enumerate(stores)}
        staff = sorted(staff, key=lambda s: order[s.store_id])  # stable: store code, then staff number
        return [(by_id[s.store_id], s, None) for s in staff]
    products = await Product.filter(active=True).order_by("sku")
    return [(store, None, product) for store in stores for product in products]


def _file_part(value: str) -> str:
    # Only these characters reach a path inside the ZIP: no "..", no slashes, nothing a shell trips on.
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)[:40] or "_"


async def prepare(*, per: Per, stores: list[Store], created_by_id: int | None = None) -> Prepared:
    """Find or create the batch's codes (run inside ``transaction()``) and describe each for the ZIP."""
    targets = await _targets(per, stores)
    keys = [batch_key(per, st.id, sf.id if sf else None, pr.id if pr else None) for st, sf, pr in targets]
    existing: dict[str, Code] = {}
    for start in range(0, len(keys), 500):
        for row in await Code.filter(batch_key__in=keys[start : start + 500]):
            existing[present(row.batch_key, "found by its batch_key")] = row
    prepared = Prepared(items=[])
    for (store, staff, product), key in zip(targets, keys, strict=True):
        code = existing.get(key)
        if code is None:
            name = staff.name if staff else (f"{store.name} {product.name}" if product else store.name)
            code = await slugs.insert_code(
                kind=_KIND[per], name=name[:100], store_id=store.id, staff_id=staff.id if staff else None,
                product_id=product.id if product else None, batch_key=key, tags=["batch"],
                target_url=storefront_url(store_code=store.code, product_sku=product.sku if product else None),
                created_by_id=created_by_id,
            )
            prepared.created += 1
        elif not code.active:
            prepared.skipped_inactive += 1
            continue
        else:
            prepared.reused += 1
        label = _file_part(staff.staff_no if staff else (product.sku if product else "store"))
        stem = f"{_file_part(store.code)}/{label}-{code.slug}"
        prepared.items.append(BatchItem(
            slug=code.slug, url=slugs.public_url(code.slug), qr_url=slugs.qr_url(code.slug), kind=code.kind.value,
            store_code=store.code, store_name=store.name, staff_no=staff.staff_no if staff else "",
            staff_name=staff.name if staff else "", product_sku=product.sku if product else "",
            product_name=product.name if product else "", qr_file=f"qr/{stem}.png", card_file=f"cards/{stem}.png",
            price_fen=product.price_fen if product else None, store_id=store.id,
        ))
    return prepared
