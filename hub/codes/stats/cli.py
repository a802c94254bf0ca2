"""`hub codes stats`: the scan statistics of the API on the terminal, or as the same CSV file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hub.events.stats import GroupBy

DATE_FORMATS = ["%Y-%m-%d"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to `hub codes`."""
    app.command("stats")(stats)


def stats(
    store: Annotated[str | None, typer.Option(help="Store code: only that store's codes")] = None,
    staff: Annotated[str | None, typer.Option(help="Staff number (工号), e.g. E000123: only their codes")] = None,
    day_from: Annotated[datetime | None, typer.Option("--from", formats=DATE_FORMATS,
                                                      help="First Shanghai day (default: 29 days before --to)")] = None,
    day_to: Annotated[datetime | None, typer.Option("--to", formats=DATE_FORMATS,
                                                    help="Last Shanghai day, inclusive (default: today)")] = None,
    group_by: Annotated[GroupBy, typer.Option("--group-by",
                                              help="One row per store, staff, code, day or channel")] = GroupBy.DAY,
    csv: Annotated[Path | None, typer.Option("--csv", dir_okay=False,
                                             help="Also write the rows to this file (UTF-8 CSV for Excel)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Most stores, staff or codes shown")] = 1000,
) -> None:
    """Scans, unique scanners, QR versus link and in-app browsers from the daily rollup; bots apart."""
    from hub.errors import InvalidInput
    from hub.events import stats as service
    from hub.staff.models import Staff
    from hub.stores.models import Store

    async def work():
        store_id = staff_id = None
        if store is not None:
            found = await Store.get_or_none(code=store)
            if found is None:
                raise InvalidInput.field("--store", f"no store {store}")
            store_id = found.id
        if staff is not None:
            member = await Staff.get_or_none(staff_no=staff)
            if member is None:
                raise InvalidInput.field("--staff", f"no staff member {staff}")
            staff_id = member.id
        start, end = service.day_range(day_from=day_from and day_from.date(), day_to=day_to and day_to.date(),
                                       names=("--from", "--to"))
        f = service.ScanFilter(day_from=start, day_to=end, store_id=store_id, staff_id=staff_id)
        return f, await service.scan_report(filters=f, group_by=group_by, limit=limit)

    from hub.cli.common import console, run, table_rows

    f, report = run(work, with_queue=False)
    rows, totals = report.rows, report.totals
    # Ids are for programs; people read the codes and names beside them.
    shown = [{k: v for k, v in row.items() if not k.endswith("_id")} for row in rows]
    table_rows(shown, title=f"Scans by {group_by.value}, {f.day_from} to {f.day_to} (Asia/Shanghai)")
    console.print(
        f"Total {f.day_from} to {f.day_to}: {totals['scans']} scans, {totals['unique_scanners']} unique scanners, "
        f"{totals['qr_scans']} QR / {totals['link_scans']} link; wechat {totals['wechat']}, wecom {totals['wecom']}, "
        f"other apps {totals['other_app']}, browsers {totals['browser']}; {totals['bots']} bots (not counted)",
        highlight=False,
    )
    if report.truncated:
        console.print(f"Only the {limit} groups with the most scans are shown; narrow with --store or --staff.")
    if csv is not None:
        csv.write_bytes(service.to_csv(rows=rows, group_by=group_by))
        console.print(f"Wrote {len(rows)} rows to {csv}", highlight=False)
