from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import console, run, table_rows

app = typer.Typer(no_args_is_help=True)


@app.command("status")
def status() -> None:
    """Messages by status, and the dead ones."""
    from hub.outbox.models import OutboxMessage, OutboxStatus
    from hub.outbox.service import refresh_gauges

    async def work():
        counts = await refresh_gauges()
        dead = await OutboxMessage.filter(status=OutboxStatus.DEAD).order_by("id").limit(50)
        return counts, dead

    counts, dead = run(work, with_queue=False)
    console.print(" ".join(f"{k}={v}" for k, v in counts.items()))
    table_rows([{"id": m.id, "topic": m.topic, "attempts": m.attempts, "error": (m.last_error or "")[:80]}
                for m in dead],
               title="Dead messages")


@app.command("replay")
def replay(
    message_id: Annotated[int | None, typer.Argument(help="One dead message; all dead ones when left out")] = None,
    topic: Annotated[str | None, typer.Option(help="Only dead messages of this topic")] = None,
) -> None:
    """Give dead messages fresh attempts and deliver them again."""
    from hub.database import transaction
    from hub.outbox.service import replay as replay_messages

    async def work():
        async with transaction():
            return await replay_messages(message_id=message_id, topic=topic)

    ids = run(work)
    console.print(f"Replayed {len(ids)} message(s): {', '.join(map(str, ids)) or '-'}")
