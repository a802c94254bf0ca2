from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import console, run, table_rows
from hub.regions.models import RegionLevel

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_regions(
    level: Annotated[RegionLevel | None, typer.Option(help="Only this level")] = None,
    q: Annotated[str | None, typer.Option(help="Part of the name")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many")] = 500,
) -> None:
    """List regions with their parent, in id order."""
    from hub.regions.service import list_regions as query_regions

    async def rows():
        regions = await query_regions(level=level, q=q).select_related("parent").order_by("id").limit(limit + 1)
        return [
            {"id": r.id, "code": r.code, "name": r.name, "level": r.level.value,
             "parent": r.parent.code if r.parent else ""}
            for r in regions
        ]

    found = run(rows, with_queue=False)
    table_rows(found[:limit], title="Regions")
    if len(found) > limit:
        console.print(f"Only the first {limit} shown; narrow with --level or --q, or raise --limit.")
