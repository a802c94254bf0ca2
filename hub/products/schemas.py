from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel

from hub.products.models import ProductCategory
from hub.schemas import Code, Fen, Out, OutTime, Text


class ProductIn(BaseModel):
    sku: Code
    name: Annotated[str, Text(100)]
    category: ProductCategory
    price_fen: Fen
    description: Annotated[str, Text(2000, min_length=0)] = ""
    active: bool = True


class ProductPatch(BaseModel):
    name: Annotated[str, Text(100)] | None = None
    category: ProductCategory | None = None
    price_fen: Fen | None = None
    description: Annotated[str, Text(2000, min_length=0)] | None = None
    active: bool | None = None


class ProductOut(Out):
    id: int
    sku: str
    name: str
    category: ProductCategory
    price_fen: int
    description: str
    active: bool
    created_at: OutTime
    updated_at: OutTime
