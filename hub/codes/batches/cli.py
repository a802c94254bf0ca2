"""`hub codes batch`: the batch generation of the API, run in the terminal straight into a ZIP file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import console, fail, note_public_base_url, progress, run
from hub.codes.batches.items import Per


def register(app: typer.Typer) -> None:
    """Add this module's commands to `hub codes`."""
    app.command("batch")(batch)


def batch(
    per: Annotated[Per, typer.Option(help="One code per staff member, per product (in each store) or per store")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="The ZIP to write: QR PNGs, card PNGs, manifest.csv")],
    store: Annotated[str | None, typer.Option(help="Only this store (its code)")] = None,
    region: Annotated[str | None, typer.Option(help="Every store under this region code (city, county, grid)")] = None,
    province: Annotated[bool, typer.Option("--province", help="Every store")] = False,
) -> None:
    """Make (or reuse) the codes of a store, a region or the province and write their images to a ZIP.

    Running it again reuses the codes made before: what was printed keeps working.
    """
    if (store is not None) + (region is not None) + province != 1:
        fail("give exactly one of --store, --region or --province")
    if not out.parent.is_dir():
        fail(f"{out.parent} is not a directory")

    from hub.codes.batches import archive, items
    from hub.database import transaction
    from hub.stores.service import get_store_by_code

    async def work() -> items.Prepared:
        store_id = (await get_store_by_code(code=store, field="store")).id if store else None
        region_id = (await items.resolve_region(region)).id if region else None
        stores = await items.scope_stores(store_id=store_id, region_id=region_id)
        await items.count_codes(per=per, stores=stores)
        async with transaction():
            prepared = await items.prepare(per=per, stores=stores)
        with progress() as bar:
            task = bar.add_task("Rendering QR codes and cards", total=len(prepared.items))
            await archive.write_zip(prepared.items, out=out,
                                    on_progress=lambda done, _total: bar.update(task, completed=done))
        return prepared

    prepared = run(work, with_queue=False)
    note_public_base_url()
    console.print(
        f"{len(prepared.items)} codes ({prepared.created} new, {prepared.reused} reused"
        + (f", {prepared.skipped_inactive} disabled left out" if prepared.skipped_inactive else "")
        + f") written to {out}", highlight=False,
    )
