"""`hub wecom contact-ways list|sync`: look at contact-me codes and push them to WeCom again (the group is
added to `hub wecom` by hub/wecom/cli.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from hub import clock
from hub.cli.common import console, run, table_rows
from hub.wecom.models import ContactWayStatus

app = typer.Typer(no_args_is_help=True, help="Contact-me codes of staff and store codes.")


@app.command("list")
def list_ways(
    status: Annotated[ContactWayStatus | None, typer.Option(help="Only ways in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """Contact ways with their code, state in WeCom, user list and last error, newest first."""
    from hub.wecom.models import ContactWay

    async def work():
        query = ContactWay.all() if status is None else ContactWay.filter(status=status)
        return await query.order_by("-id").limit(limit).select_related("code")

    rows = run(work, with_queue=False)
    table_rows([{"code": w.code_id, "slug": w.code.slug, "type": w.way_type, "status": w.status.value,
                 "users": ",".join(w.applied_userids), "synced_at": w.synced_at, "error": w.last_error[:80]}
                for w in rows], title="Contact ways")


@app.command("sync")
def sync(
    code_id: Annotated[int | None, typer.Argument(min=1, max=2**31 - 1, help="Push this code's way again, "
                                                   "even if WeCom should have it")] = None,
) -> None:
    """Re-plan every store way now (after the minute tick was down), or push one code's way again."""
    from hub.database import transaction
    from hub.wecom.contact_ways import replanning
    from hub.wecom.contact_ways import service as contact_ways

    async def work() -> str:
        async with transaction():
            if code_id is not None:
                way = await contact_ways.resync(code_id=code_id)
                return f"Contact way {way.id} of code {code_id} is queued for WeCom"
            synced = await replanning.replan(now=clock.now())
            return f"{len(synced)} store contact way(s) queued for a new user list"

    console.print(run(work))
