"""``hub coupons partner-codes load BATCH_ID FILE`` and ``... status BATCH_ID``: the API's partner-code upload
and pool summary from a shell, for ops handed the partner's file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import console, err_console, run, table_rows

app = typer.Typer(no_args_is_help=True)


def _print_pool(pool) -> None:
    console.print(f"Pool of batch {pool.batch_id}: {pool.total} codes, {pool.assigned} assigned, {pool.free} free",
                  highlight=False)


@app.command()
def load(
    batch_id: Annotated[int, typer.Argument(min=1, help="The equity batch")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help=(
        "The partner's codes: one a line, or a CSV whose first column is the code"))],
) -> None:
    """Load the partner's codes into an equity batch's pool; every line is checked first, and one bad line
    loads nothing. Codes the pool already holds are counted, not loaded again."""
    from coupons.partner_codes import service as partner_codes
    from hub.database import transaction
    from hub.imports.service import MAX_BYTES

    if file.stat().st_size > MAX_BYTES:
        err_console.print(f"{file} is larger than {MAX_BYTES // 2**20} MB", highlight=False)
        raise typer.Exit(2)
    source = file.name[-200:]
    try:
        codes = partner_codes.parse(file.read_bytes(), source=source)
    except partner_codes.PartnerCodesRejected as exc:  # a report, not a crash: show every bad line
        table_rows([{"line": e.line, "message": e.message} for e in exc.errors], title=f"Bad lines in {file.name}")
        err_console.print(f"{exc.detail}. Nothing was loaded.", highlight=False)
        raise typer.Exit(1) from None

    async def work():
        async with transaction():
            return await partner_codes.load(batch_id=batch_id, codes=codes, source=source)

    summary = run(work, with_queue=False)
    console.print(f"{summary.added} codes added, {summary.already_loaded} already loaded, from {summary.source}",
                  highlight=False)
    _print_pool(summary)


@app.command()
def status(batch_id: Annotated[int, typer.Argument(min=1, help="The equity batch")]) -> None:
    """How many partner codes the batch's pool holds, how many are given to coupons and how many are free."""
    from coupons.partner_codes import service as partner_codes

    _print_pool(run(lambda: partner_codes.pool_summary(batch_id), with_queue=False))
