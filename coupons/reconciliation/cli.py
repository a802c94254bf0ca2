"""``hub coupons reconcile FILE --from --to [--pos-journal FILE]``: the API's reconciliation from a shell,
with a summary per store and day and the differences written next to the file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from coupons.partner_codes import cli as partner_codes_cli
from hub.cli.common import console, err_console, run, table_rows

app = typer.Typer(no_args_is_help=True)
app.add_typer(partner_codes_cli.app, name="partner-codes",
              help="Equity batches: load the partner's codes, see the pool")


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("a day is YYYY-MM-DD") from None


def reconcile(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The settlement CSV")],
    period_from: Annotated[str, typer.Option("--from", help="First Shanghai day of the period, YYYY-MM-DD")],
    period_to: Annotated[str, typer.Option("--to", help="Last Shanghai day of the period, YYYY-MM-DD")],
    pos_journal: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, readable=True,
                                                     help="The POS journal (same columns), for a three-way run")]
    = None,
    source: Annotated[str, typer.Option(help="Whose file: the partner or system name")] = "partner",
    out: Annotated[Path | None, typer.Option(help="Where to write the differences (default: FILE-differences.csv)")]
    = None,
) -> None:
    """Reconcile a settlement file against the hub's redemptions; every line is checked first, and one bad
    line stores nothing."""
    from coupons.reconciliation import service
    from coupons.reconciliation.parse import SettlementRejected
    from hub.database import transaction
    from hub.imports.service import MAX_BYTES

    first, last = _day(period_from), _day(period_to)
    for path in (file, pos_journal):
        if path is not None and path.stat().st_size > MAX_BYTES:
            err_console.print(f"{path} is larger than {MAX_BYTES // 2**20} MB", highlight=False)
            raise typer.Exit(2)
    data = file.read_bytes()
    pos_data = pos_journal.read_bytes() if pos_journal is not None else None

    async def work():
        try:
            async with transaction():
                result = await service.run_reconciliation(
                    data=data, file_name=file.name[-200:], source=source[:64], period_from=first, period_to=last,
                    pos_journal=pos_data, pos_file_name=pos_journal.name[-200:] if pos_journal else None)
        except SettlementRejected as exc:  # a report, not a crash: show every bad line below
            return exc
        return result, await service.summary(result.id), await service.differences_csv(result.id)

    result = run(work, with_queue=False)
    if isinstance(result, SettlementRejected):
        table_rows([{"line": e.line, "field": e.field, "message": e.message} for e in result.errors],
                   title="Bad lines (pos_journal.* in the POS journal)" if pos_journal else f"Bad lines in {file.name}")
        err_console.print(f"{result.detail}. Nothing was stored.", highlight=False)
        raise typer.Exit(1)
    reconciliation, per_store_day, differences = result
    _print_summary(per_store_day)
    target = out or file.with_name(f"{file.stem}-differences.csv")
    target.write_bytes(differences)
    console.print(f"Run {reconciliation.id} ({first} to {last}). Differences written to {target}", highlight=False)
    for comparison, by_class in reconciliation.counts.items():
        counts = ", ".join(f"{name} {n}" for name, n in by_class.items() if n)
        console.print(f"  {comparison}: {counts or 'no lines'}", highlight=False)


def _print_summary(per_store_day: list[dict]) -> None:
    table_rows([{"store": s["store_code"], "day": s["day"].isoformat(), "compared": s["comparison"],
                 "class": name, "lines": c["count"], "file fen": c["file_fen"], "hub fen": c["hub_fen"]}
                for s in per_store_day for name, c in s["classes"].items()], title="Reconciliation per store and day")
