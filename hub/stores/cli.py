from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import console, run, table_rows

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_stores(
    region: Annotated[str | None, typer.Option(help="Region code: stores in it and every region below it")] = None,
    q: Annotated[str | None, typer.Option(help="Part of the name")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many")] = 500,
) -> None:
    """List stores with their region, in id order."""
    from hub.errors import InvalidInput
    from hub.regions.models import Region
    from hub.regions.service import region_ids_under
    from hub.stores.service import list_stores as query_stores

    async def rows():
        region_ids = None
        if region is not None:
            found = await Region.get_or_none(code=region)
            if found is None:
                raise InvalidInput.field("region", f"no region {region}")
            region_ids = await region_ids_under(found.id)
        stores, _ = await query_stores(region_ids=region_ids, q=q, limit=limit + 1)
        return [
            {"id": s["id"], "code": s["code"], "name": s["name"], "kind": str(s["kind"]), "region": s["region_code"],
             "active": "yes" if s["active"] else "no"}
            for s in stores
        ]

    found = run(rows, with_queue=False)
    table_rows(found[:limit], title="Stores")
    if len(found) > limit:
        console.print(f"Only the first {limit} shown; narrow with --region or --q, or raise --limit.")
