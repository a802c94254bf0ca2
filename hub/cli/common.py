"""What every CLI command shares: a console, one-line failures, and an async runner with the database."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.errors import HubError

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]hub:[/] {message}", highlight=False)
    sys.exit(code)


def note_public_base_url() -> None:
    """Commands that print or store public links say which address they use when none was configured: the
    default (a local demo's) in a stored code target or a printed QR would send customers nowhere."""
    from hub.settings import get_settings

    settings = get_settings()
    if "public_base_url" not in settings.model_fields_set:
        err_console.print(f"[yellow]hub:[/] HUB_PUBLIC_BASE_URL is not set, so links use {settings.public_base_url}; "
                          "set it to the address customers reach, as the server's", highlight=False)


def run(work: Callable[[], Awaitable[T]], *, with_queue: bool = True) -> T:
    """Run ``work`` with the database open (and the job queue, drained before exit)."""
    from hub import database, jobs
    from hub.logging import configure_logging
    from hub.settings import get_settings

    settings = get_settings()
    configure_logging(settings.model_copy(update={"log_json": False, "log_level": "WARNING"}))

    async def main() -> T:
        await database.connect(settings)
        try:
            if with_queue:
                await jobs.open_queue(settings, run_periodic=False)
            try:
                result = await work()
                await jobs.get_queue().drain() if with_queue else None
                return result
            finally:
                if with_queue:
                    await jobs.close_queue()
        finally:
            await database.disconnect()

    try:
        return asyncio.run(main())
    except HubError as exc:
        fail(exc.detail)


def progress() -> Progress:
    """The progress bar every long CLI task shows."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def table_rows(rows: list[dict[str, Any]], title: str | None = None) -> None:
    from rich.table import Table

    if not rows:
        console.print("(none)")
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row.values()])
    console.print(table)
