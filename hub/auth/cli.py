from __future__ import annotations

from typing import Annotated

import typer

from hub.auth.models import ApiKey, Role
from hub.cli.common import console, run, table_rows

app = typer.Typer(no_args_is_help=True)


@app.command("create")
def create(
    role: Annotated[Role, typer.Option(help="What the key may do")],
    store: Annotated[str | None, typer.Option(help="Store code (required for staff and store_manager)")] = None,
    staff: Annotated[str | None, typer.Option(help="Staff number (工号) the key belongs to")] = None,
    name: Annotated[str, typer.Option(help="Who or what uses the key")] = "",
) -> None:
    """Create a key. The key is printed once, alone on the last line."""
    from hub.auth.service import create_key

    key, clear = run(lambda: create_key(role=role, name=name, store_code=store, staff_no=staff), with_queue=False)
    console.print(f"Created {key.role} key {key.prefix} {('for ' + name) if name else ''}. It is shown only once:")
    print(clear)


@app.command("revoke")
def revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix (or the whole key)")]) -> None:
    """Revoke a key at once."""
    from hub.auth.service import revoke_key

    key = run(lambda: revoke_key(prefix=prefix), with_queue=False)
    console.print(f"Revoked key {key.prefix} ({key.role}).")


@app.command("list")
def list_keys() -> None:
    """List keys (prefixes only; secrets are never stored)."""

    async def rows():
        keys = await ApiKey.all().order_by("id").select_related("store")
        return [
            {"prefix": k.prefix, "role": k.role, "name": k.name, "store": k.store.code if k.store else "",
             "revoked": "yes" if k.revoked_at else ""}
            for k in keys
        ]

    table_rows(run(rows, with_queue=False), title="API keys")
