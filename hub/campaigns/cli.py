from __future__ import annotations

from typing import Annotated

import typer

from hub.campaigns.models import CampaignStatus
from hub.cli.common import run, table_rows

app = typer.Typer(no_args_is_help=True)


def _minute(shanghai_iso: str) -> str:
    return shanghai_iso[:16].replace("T", " ")


@app.command("list")
def list_campaigns(
    status: Annotated[CampaignStatus | None, typer.Option(help="Only campaigns in this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, oldest first")] = 100,
) -> None:
    """List campaigns with their window and approval."""
    from hub.campaigns import service
    from hub.campaigns.schemas import CampaignOut

    async def rows():
        campaigns = await service.list_campaigns(status=status).order_by("id").limit(limit)
        outs = [CampaignOut.of(c).model_dump(mode="json") for c in campaigns]
        return [
            {"id": o["id"], "name": o["name"], "status": o["status"], "starts": _minute(o["starts_at"]),
             "ends": _minute(o["ends_at"]), "channels": ",".join(o["channels"]), "drafted": o["drafted_by"],
             "approved": o["approved_by"]}
            for o in outs
        ]

    table_rows(run(rows, with_queue=False), title="Campaigns")


@app.command("show")
def show(campaign_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The campaign's id")]) -> None:
    """Every field of one campaign (times in Asia/Shanghai)."""
    from hub.campaigns import service
    from hub.campaigns.schemas import CampaignOut

    async def load():
        return CampaignOut.of(await service.get_campaign(campaign_id=campaign_id)).model_dump(mode="json")

    out = run(load, with_queue=False)
    rows = [{"field": k, "value": ",".join(map(str, v)) if isinstance(v, list) else v} for k, v in out.items()]
    table_rows(rows, title=f"Campaign {campaign_id}")
