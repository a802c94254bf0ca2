"""``hub webhooks``: how inbound callbacks stand, and replaying the ones that failed."""

from __future__ import annotations

from typing import Annotated

import typer

from hub import clock
from hub.cli.common import console, fail, run, table_rows

app = typer.Typer(no_args_is_help=True)


@app.command("status")
def status() -> None:
    """Receipts by source and status, and how long the oldest pending one has waited."""

    from tortoise.functions import Count

    from webhooks.models import ReceiptStatus, WebhookReceipt

    async def work():
        rows = await WebhookReceipt.all().group_by("source", "status").annotate(n=Count("id")).order_by(
            "source", "status"
        ).values("source", "status", "n")
        for row in rows:
            row["oldest"] = None
            if row["status"] == ReceiptStatus.PENDING:
                pending = WebhookReceipt.filter(source=row["source"], status=ReceiptStatus.PENDING)
                row["oldest"] = await pending.order_by("received_at").first().values_list("received_at", flat=True)
        return rows

    now = clock.now()
    table_rows(
        [
            {
                "source": row["source"],
                "status": str(row["status"]),
                "receipts": row["n"],
                "oldest pending": f"{(now - row['oldest']).total_seconds():.0f}s" if row["oldest"] else "",
            }
            for row in run(work, with_queue=False)
        ],
        title="Webhook receipts",
    )


@app.command("replay")
def replay(
    receipt_id: Annotated[int | None, typer.Option("--id", help="One failed (or done) receipt")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed receipt")] = False,
) -> None:
    """Put failed WeCom receipts back to pending with fresh tries and process them again."""
    from hub.database import transaction
    from webhooks.wecom.service import replay as replay_receipts

    if (receipt_id is not None) == failed:
        fail("give either --id N or --failed")

    async def work():
        async with transaction():
            return await replay_receipts(receipt_id=receipt_id)

    ids = run(work)
    console.print(f"Replayed {len(ids)} receipt(s): {', '.join(map(str, ids)) or '-'}")
