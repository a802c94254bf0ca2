from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from hub.auth.deps import CurrentKey, OpsKey
from hub.edge import APIRouter
from hub.errors import problems
from hub.pagination import paginate
from hub.products import service
from hub.products.models import ProductCategory
from hub.products.schemas import ProductIn, ProductOut, ProductPatch
from hub.schemas import DbId, Fen, Page, PageQuery, Text

router = APIRouter(prefix="/products", tags=["products"], responses=problems(401, 403, 422))


@router.get("", summary="List products")
async def list_products(
    key: CurrentKey,
    page: PageQuery,
    category: ProductCategory | None = None,
    active: bool | None = None,
    q: Annotated[Annotated[str, Text(100)] | None, Query(description="Part of the name")] = None,
    min_price_fen: Annotated[Fen | None, Query()] = None,
    max_price_fen: Annotated[Fen | None, Query()] = None,
) -> Page[ProductOut]:
    query = service.list_products(
        category=category, active=active, q=q, min_price_fen=min_price_fen, max_price_fen=max_price_fen
    )
    return await paginate(query, limit=page.limit, after=page.after, to_out=ProductOut.model_validate)


@router.get("/{product_id}", summary="One product", responses=problems(404))
async def get_product(key: CurrentKey, product_id: Annotated[DbId, Path()]) -> ProductOut:
    return ProductOut.model_validate(await service.get_product(product_id=product_id))


@router.post("", status_code=201, summary="Create a product", responses=problems(409))
async def create_product(body: ProductIn, key: OpsKey) -> ProductOut:
    return ProductOut.model_validate(await service.create_product(**body.model_dump()))


@router.patch("/{product_id}", summary="Change a product", responses=problems(404))
async def patch_product(product_id: Annotated[DbId, Path()], body: ProductPatch, key: OpsKey) -> ProductOut:
    product = await service.update_product(product_id=product_id, changes=body.model_dump(exclude_none=True))
    return ProductOut.model_validate(product)
