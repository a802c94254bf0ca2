"""Products (SKUs): the catalogue campaigns and storefronts sell from."""

from __future__ import annotations

from typing import Any

from hub import clock
from hub.database import unique_or
from hub.errors import InvalidInput, NotFound
from hub.pagination import filter_given
from hub.products.models import Product, ProductCategory


class ProductNotFound(NotFound):
    title = "Product not found"


async def get_product(*, product_id: int) -> Product:
    product = await Product.get_or_none(id=product_id)
    if product is None:
        raise ProductNotFound(f"No product {product_id}")
    return product


async def create_product(
    *, sku: str, name: str, category: ProductCategory, price_fen: int, description: str = "", active: bool = True
) -> Product:
    taken = InvalidInput.field("sku", f"product {sku} already exists")
    if await Product.exists(sku=sku):
        raise taken
    async with unique_or(taken):  # a twin request got past the check first
        return await Product.create(
            sku=sku, name=name, category=category, price_fen=price_fen, description=description, active=active
        )


async def update_product(*, product_id: int, changes: dict[str, Any]) -> Product:
    """Apply only the given fields, in one UPDATE (no read-modify-write)."""
    if changes:
        count = await Product.filter(id=product_id).update(**changes, updated_at=clock.now())
        if count == 0:
            raise ProductNotFound(f"No product {product_id}")
    return await get_product(product_id=product_id)


def list_products(
    *,
    category: ProductCategory | None = None,
    active: bool | None = None,
    q: str | None = None,
    min_price_fen: int | None = None,
    max_price_fen: int | None = None,
):
    return filter_given(
        Product.all(), category=category, active=active, name__icontains=q,
        price_fen__gte=min_price_fen, price_fen__lte=max_price_fen,
    )
