from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import console, run, table_rows

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_staff(
    store: Annotated[str | None, typer.Option(help="Store code")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many")] = 500,
) -> None:
    """List staff with their store, in id order."""
    from hub.staff.service import list_staff as query_staff
    from hub.stores.service import get_store_by_code

    async def rows():
        store_id = (await get_store_by_code(code=store, field="store")).id if store is not None else None
        members = await query_staff(store_id=store_id).order_by("id").limit(limit + 1)
        return [
            {"id": m.id, "staff_no": m.staff_no, "name": m.name, "store": m.store.code, "role": m.role.value,
             "wecom_userid": m.wecom_userid, "active": "yes" if m.active else "no"}
            for m in members
        ]

    found = run(rows, with_queue=False)
    table_rows(found[:limit], title="Staff")
    if len(found) > limit:
        console.print(f"Only the first {limit} shown; narrow with --store, or raise --limit.")
