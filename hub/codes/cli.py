"""`hub codes create|list|show|disable`: ops-level (no key needed), same checks as the API; the batches'
and the statistics' sub-packages add `hub codes batch` and `hub codes stats`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.common import console, fail, note_public_base_url, run, table_rows
from hub.codes.batches import cli as batches_cli
from hub.codes.models import CodeKind, TargetKind
from hub.codes.stats import cli as stats_cli


async def _ids(*, store: str | None, staff: str | None, product: str | None) -> dict:
    """Store code, staff number and SKU as people type them → the ids the service takes."""
    from hub.errors import InvalidInput
    from hub.products.models import Product
    from hub.staff.models import Staff
    from hub.stores.service import get_store_by_code

    ids: dict = {"store_id": None, "staff_id": None, "product_id": None}
    if store is not None:
        ids["store_id"] = (await get_store_by_code(code=store, field="store")).id
    for name, model, column, value in (("staff", Staff, "staff_no", staff), ("product", Product, "sku", product)):
        if value is not None:
            lookup: dict[str, Any] = {column: value}
            row = await model.get_or_none(**lookup)
            if row is None:
                raise InvalidInput.field(name, f"no {name} {value}")
            ids[f"{name}_id"] = row.id
    return ids


def create(
    kind: Annotated[CodeKind, typer.Option(help="What the code is for")],
    store: Annotated[str | None, typer.Option(help="Store code")] = None,
    staff: Annotated[str | None, typer.Option(help="Staff number (工号); the store follows the staff member")] = None,
    product: Annotated[str | None, typer.Option(help="Product SKU")] = None,
    campaign: Annotated[int | None, typer.Option(min=1, max=2**31 - 1, help="Campaign id")] = None,
    channel: Annotated[str, typer.Option(help="Where it is shared: poster, wecom_moments, livestream…")] = "",
    name: Annotated[str, typer.Option(help="A name people recognise")] = "",
    target_kind: Annotated[TargetKind, typer.Option(help="storefront (built by the hub) or a given URL")] = (
        TargetKind.STOREFRONT
    ),
    target_url: Annotated[str | None, typer.Option(help="WeCom contact-me or live-room URL")] = None,
    live_starts: Annotated[str | None, typer.Option(help="Livestream start, e.g. 2026-12-01T20:00")] = None,
    live_ends: Annotated[str | None, typer.Option(help="Livestream end")] = None,
) -> None:
    """Create a code and print its link and QR link."""
    from pydantic import ValidationError

    from hub.codes import service
    from hub.codes.schemas import CodeIn
    from hub.codes.slugs import public_url, qr_url
    from hub.database import transaction

    try:
        body = CodeIn(kind=kind, name=name, channel=channel, target_kind=target_kind, target_url=target_url,
                      campaign_id=campaign, live_starts_at=live_starts, live_ends_at=live_ends)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")

    async def work():
        fields = body.model_dump(exclude={"store_id", "staff_id", "product_id"})
        fields.update(await _ids(store=store, staff=staff, product=product))
        async with transaction():
            return (await service.create_code(**fields)).slug

    slug = run(work, with_queue=False)
    note_public_base_url()
    console.print(f"Code {slug}\nlink: {public_url(slug)}\nQR:   {qr_url(slug)}", highlight=False, soft_wrap=True)


def list_codes(
    store: Annotated[str | None, typer.Option(help="Store code")] = None,
    kind: Annotated[CodeKind | None, typer.Option(help="Only this kind")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many")] = 500,
) -> None:
    """List codes with their attribution, in id order."""
    from hub.codes.schemas import CodeOut
    from hub.codes.service import list_codes as query_codes
    from hub.stores.service import get_store_by_code

    async def rows():
        store_id = (await get_store_by_code(code=store, field="store")).id if store is not None else None
        codes = await query_codes(store_id=store_id, kind=kind).order_by("id").limit(limit + 1)
        return [
            {"id": o.id, "slug": o.slug, "kind": o.kind.value, "name": o.name, "store": o.store_code,
             "staff": o.staff_no, "product": o.product_sku, "channel": o.channel,
             "active": "yes" if o.active else "no", "link": o.public_url}
            for o in map(CodeOut.of, codes)
        ]

    found = run(rows, with_queue=False)
    table_rows(found[:limit], title="Codes")
    if len(found) > limit:
        console.print(f"Only the first {limit} shown; narrow with --store or --kind, or raise --limit.")


def show(slug: Annotated[str, typer.Argument(help="The code's slug (the part after /c/)")]) -> None:
    """Every field of one code (times in Asia/Shanghai)."""
    from hub.codes.schemas import CodeOut
    from hub.codes.service import get_code_by_slug

    async def load():
        return CodeOut.of(await get_code_by_slug(slug=slug)).model_dump(mode="json")

    out = run(load, with_queue=False)
    rows = [{"field": k, "value": ",".join(map(str, v)) if isinstance(v, list) else v} for k, v in out.items()]
    table_rows(rows, title=f"Code {slug}")


def disable(slug: Annotated[str, typer.Argument(help="The code's slug")]) -> None:
    """Disable a code: its link stops redirecting."""
    from hub.codes.service import disable_code, get_code_by_slug
    from hub.database import transaction

    async def work():
        async with transaction():
            code = await get_code_by_slug(slug=slug)
            return await disable_code(code_id=code.id)

    code = run(work, with_queue=False)
    console.print(f"Code {code.slug} disabled (version {code.version}).", highlight=False)


app = typer.Typer(no_args_is_help=True)
app.command("create")(create)
app.command("list")(list_codes)
app.command("show")(show)
app.command("disable")(disable)
batches_cli.register(app)  # batch
stats_cli.register(app)  # stats
