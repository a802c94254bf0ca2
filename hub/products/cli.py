from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import run, table_rows
from hub.products.models import ProductCategory

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_products(
    category: Annotated[ProductCategory | None, typer.Option(help="Only this category")] = None,
    active_only: Annotated[bool, typer.Option("--active-only", help="Hide withdrawn products")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many rows")] = 500,
) -> None:
    """List products by id, prices in fen (分) and yuan."""
    from hub.products.service import list_products as query

    async def rows():
        products = await query(category=category, active=True if active_only else None).order_by("id").limit(limit)
        return [
            {"id": p.id, "sku": p.sku, "name": p.name, "category": p.category, "price_fen": p.price_fen,
             "price": f"¥{p.price_fen / 100:.2f}", "active": "yes" if p.active else "no"}
            for p in products
        ]

    table_rows(run(rows, with_queue=False), title="Products")
